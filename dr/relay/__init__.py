"""Alertmanager -> GitHub ``repository_dispatch`` relay.

Alertmanager's webhook body is not GitHub's dispatch format and Alertmanager delivers at least
once (HA duplicates, repeats every ``repeat_interval``, a stale "firing" after "resolved"), so
this relay validates, maps, dedupes per incident and dispatches. See docs/adr/0005-relay-dedupe.md.

Layers (imports point one way): ``payload`` (the Alertmanager model) -> ``mapping`` (pure) ->
``dedupe`` (the incident ledger) -> ``github`` (the one adapter) -> ``service`` -> ``app``.
"""

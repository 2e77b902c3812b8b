"""The incident ledger: one dispatch per (incident, status), across restarts."""

from __future__ import annotations

from pathlib import Path

from dr.relay.dedupe import STATE_FILE, IncidentStore, Verdict
from dr.relay.mapping import IncidentKey

K1 = IncidentKey("fp1", "2026-11-27T05:00:00.000000+00:00")
K1_LATER = IncidentKey("fp1", "2026-11-27T07:00:00.000000+00:00")


def _sent(store: IncidentStore, key: IncidentKey, status: str) -> Verdict:
    verdict = store.claim(key, status)  # type: ignore[arg-type]
    if verdict is Verdict.SEND:
        store.commit(key, status)  # type: ignore[arg-type]
    return verdict


def test_first_firing_is_sent_and_repeats_are_duplicates() -> None:
    """HA twins and repeat_interval repeats of the same incident are dropped."""
    store = IncidentStore(None)
    assert _sent(store, K1, "firing") is Verdict.SEND
    assert _sent(store, K1, "firing") is Verdict.DUPLICATE
    assert _sent(store, K1, "firing") is Verdict.DUPLICATE


def test_concurrent_duplicate_is_dropped_while_the_first_is_in_flight() -> None:
    """The HA twin arriving while the first dispatch is still in flight is a duplicate."""
    store = IncidentStore(None)
    assert store.claim(K1, "firing") is Verdict.SEND
    assert store.claim(K1, "firing") is Verdict.DUPLICATE
    store.commit(K1, "firing")
    assert store.claim(K1, "firing") is Verdict.DUPLICATE


def test_failed_dispatch_is_released_for_the_retry() -> None:
    """A dispatch GitHub did not accept can be sent by Alertmanager's retry."""
    store = IncidentStore(None)
    assert store.claim(K1, "firing") is Verdict.SEND
    store.release(K1, "firing")
    assert store.claim(K1, "firing") is Verdict.SEND


def test_resolved_once_then_stale_firing_is_dropped() -> None:
    """Resolved is sent once; a later "firing" of the same incident is stale (alertmanager#2447)."""
    store = IncidentStore(None)
    assert _sent(store, K1, "firing") is Verdict.SEND
    assert _sent(store, K1, "resolved") is Verdict.SEND
    assert _sent(store, K1, "resolved") is Verdict.DUPLICATE
    assert _sent(store, K1, "firing") is Verdict.STALE_AFTER_RESOLVED


def test_firing_during_resolved_in_flight_is_stale() -> None:
    store = IncidentStore(None)
    assert store.claim(K1, "resolved") is Verdict.SEND
    assert store.claim(K1, "firing") is Verdict.STALE_AFTER_RESOLVED


def test_a_new_startsat_is_a_new_incident() -> None:
    """The same alert firing again after it resolved is a new incident."""
    store = IncidentStore(None)
    _sent(store, K1, "firing")
    _sent(store, K1, "resolved")
    assert _sent(store, K1_LATER, "firing") is Verdict.SEND


def test_state_survives_a_restart(tmp_path: Path) -> None:
    """A restarted relay does not dispatch an incident again."""
    store = IncidentStore(tmp_path)
    _sent(store, K1, "firing")
    store.close()
    assert (tmp_path / STATE_FILE).is_file()
    again = IncidentStore(tmp_path)
    assert again.claim(K1, "firing") is Verdict.DUPLICATE
    assert again.claim(K1, "resolved") is Verdict.SEND


def test_idle_rows_are_pruned_after_the_ttl_but_repeats_keep_them(tmp_path: Path) -> None:
    """TTL counts from the last sighting: a long incident's repeats keep its row alive."""
    now = [1_000_000.0]
    store = IncidentStore(tmp_path, ttl_seconds=100, clock=lambda: now[0])
    _sent(store, K1, "firing")
    _sent(store, K1_LATER, "firing")
    now[0] += 90
    assert store.claim(K1, "firing") is Verdict.DUPLICATE  # refreshes K1
    now[0] += 20
    assert store.prune() == 1  # K1_LATER idle 110 s
    assert store.count() == 1
    assert store.claim(K1, "firing") is Verdict.DUPLICATE

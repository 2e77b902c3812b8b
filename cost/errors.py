"""The cost engine's exception root. The CLI prints ``error: <message>`` and exits with ``exit_code``.

Every message names the file, key or URL it is about, so a one-line error is actionable.
"""

from __future__ import annotations


class CostError(Exception):
    """Something the user can act on in the cost engine. Exit code 1."""

    exit_code = 1


class CostUsageError(CostError):
    """The command line is wrong (bad --purpose, bad --run-id, bad --format). Exit code 2."""

    exit_code = 2


class CatalogError(CostError):
    """A price catalog file is missing, unreadable, corrupt or in an unknown format."""


class CatalogRefreshError(CatalogError):
    """The Azure Retail Prices API could not be read completely; nothing was written."""


class UsageFileError(CostError):
    """A usage file (``stacks/usage/<stack>.yaml``) is invalid; the message names the file and key."""


class OnPremModelError(CostError):
    """The on-prem cost model (``stacks/onprem-cost-model.yaml``) is missing or invalid."""


class ArtefactError(CostError):
    """A cost artefact cannot be read: not JSON, not a cost artefact, corrupt, or unknown version."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ArtefactVersionError(ArtefactError):
    """The artefact was written by a newer hybridops (its ``schema_version`` is above ours)."""

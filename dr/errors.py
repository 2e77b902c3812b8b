"""The driver's exception root. The CLI maps these to exit codes and one-line messages."""

from __future__ import annotations


class HybridOpsError(Exception):
    """Something the user can act on; the message says what and where. Exit code 1."""

    exit_code = 1


class UsageError(HybridOpsError):
    """The command line itself is wrong (malformed --set, conflicting flags). Exit code 2."""

    exit_code = 2


class ConfigError(HybridOpsError):
    """A stack file or a policy/usage file is missing or invalid."""


class EngineError(HybridOpsError):
    """The Pulumi engine (real or offline) could not produce a plan or apply a change."""


class EngineUnavailableError(EngineError):
    """The pulumi CLI is not installed; the message says to install it or use --offline."""


class StackLockedError(EngineError):
    """Another update holds the stack lock."""


class StackNotFoundError(EngineError):
    """The stack does not exist in the backend."""


class ProviderError(EngineError):
    """A provider refused the operation (credentials, quota, API error)."""

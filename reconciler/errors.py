"""The small error hierarchy. One boundary (cli.main) turns these into messages and exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3
EXIT_STALE = 4
EXIT_INTERRUPTED = 130


class ReconcilerError(Exception):
    """An expected failure caused by input, configuration or the API: one line, exit 1."""

    exit_code = EXIT_USER


class UsageError(ReconcilerError):
    """A bad flag or argument."""


class ConfigError(ReconcilerError):
    """Settings that contradict each other or cannot be used; ``field`` names the setting."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InputError(ReconcilerError):
    """A file that cannot be read or parsed."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the live state."""

    exit_code = EXIT_STALE

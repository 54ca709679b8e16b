"""Every secret value the run knows, and ``scrub``, which takes them out of a text.

Values are registered as they are resolved: the Infracost token (``settings``), each ``fromEnv``
value apply sends (``apply``), the ServiceNow user, password or token (``pull``), and every
credential a transport puts on the wire (``http.transport``). Whatever prints, logs or writes a
message that came from outside (an API's error, an event, a comment) scrubs it first, and
always before cutting it, so that no piece of a secret survives a cut.

- Each value is replaced by ``***`` in any letter case (a server may upper-case what it echoes),
  longest first, so a secret that contains another is replaced whole.
- A value is also known in the forms in which a server echoes it: JSON-escaped (with ``/`` as
  ``\\/`` too) and percent-encoded.
- Values shorter than ``MIN_LENGTH`` characters are not registered: replacing every ``a`` or
  ``on`` would mangle the text and protect nothing.

The set is one per process, which is one run of the command line. ``forget`` empties it (tests
that act as two runs call it).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MIN_LENGTH = 4
MASK = "***"


def forms(value: str) -> set[str]:
    """The value, and the forms in which it travels in a JSON body or a URL."""
    escaped = json.dumps(value)[1:-1]
    return {value, escaped, escaped.replace("/", "\\/"), quote(value, safe=""), quote_plus(value)}


class Secrets:
    """A set of secret values and the one pattern that finds them all. Threads may share it."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._version = 0
        self._compiled: dict[frozenset[str], tuple[int, re.Pattern[str] | None]] = {}

    def add(self, *values: str | None) -> None:
        """Register values (None, empty and short ones are left out)."""
        new = {
            form for value in values if value and len(value) >= MIN_LENGTH for form in forms(value)
        }
        with self._lock:
            if new <= self._values:
                return
            self._values |= new
            self._version += 1

    def add_env(self, env: Mapping[str, str], names: Iterable[str]) -> None:
        """Register the values of these environment variables (those set)."""
        self.add(*(env.get(name) for name in names))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._version += 1
            self._compiled.clear()

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:  # never the values
        return f"Secrets({len(self._values)} values)"

    def pattern(self, also: Collection[str] = ()) -> re.Pattern[str] | None:
        """One case-insensitive pattern for every value, and ``also`` (any length), longest
        first; None when there is nothing to find."""
        key = frozenset(v for v in also if v)
        with self._lock:
            version = self._version
            cached = self._compiled.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            values = self._values | key
        pattern = (
            re.compile(
                "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)),
                re.IGNORECASE,
            )
            if values
            else None
        )
        with self._lock:
            if len(self._compiled) > 64:  # transports come and go; their sets are few
                self._compiled.clear()
            self._compiled[key] = (version, pattern)
        return pattern

    def scrub(self, text: str, also: Collection[str] = ()) -> str:
        """``text`` with every known value (and every one of ``also``) replaced by ``***``."""
        pattern = self.pattern(also)
        return pattern.sub(MASK, text) if pattern is not None and text else text

    def scrub_data(self, value: Any) -> Any:
        """JSON-like data with every string (keys too) scrubbed."""
        pattern = self.pattern()
        if pattern is None:
            return value
        return _scrub_data(value, pattern)


def _scrub_data(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(MASK, value)
    if isinstance(value, Mapping):
        return {_scrub_data(k, pattern): _scrub_data(v, pattern) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_data(v, pattern) for v in value]
    return value


KNOWN = Secrets()  # the run's


def register(*values: str | None) -> None:
    """Make values known to the run: from now on they are scrubbed from every message."""
    KNOWN.add(*values)


def register_env(env: Mapping[str, str], names: Iterable[str]) -> None:
    """Make the values of these environment variables known (those set)."""
    KNOWN.add_env(env, names)


def scrub(text: str, also: Collection[str] = ()) -> str:
    """``text`` with every secret the run knows (and ``also``) replaced by ``***``, any case."""
    return KNOWN.scrub(text, also)


def scrub_data(value: Any) -> Any:
    """JSON-like data with every secret the run knows taken out of its strings."""
    return KNOWN.scrub_data(value)


def forget() -> None:
    """Forget every value (a new run in the same process)."""
    KNOWN.clear()


def from_env(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    """The value of a ``{fromEnv: NAME, default: ...}`` reference; None when it has none.

    An empty variable counts as unset: GitHub passes a secret the environment lacks as "", and
    that must not clear a webhook (a document that means "none" writes ``""`` itself)."""
    return env.get(name) or default

"""Untrusted text in terminal and log output: one escaping, used by every renderer.

Names, keys, values, messages and paths come from files, the API or ServiceNow. Printed raw,
they could colour or clear a terminal (``ESC[31m``), start a line of their own (``\\n``,
``\\r``, ``\\u2028``) and forge a ``Plan: 0 to add`` summary, reorder a line (bidi controls),
or run a GitHub workflow command in a CI log (``::add-mask::``, ``::error::`` at the start of a
line, or the legacy ``##[error]`` anywhere in one). So:

- ``clean`` and ``quote`` show every control, invisible formatting character, line or paragraph
  separator and lone surrogate as an escape (``\\n``, ``\\u001b``, ``\\u202e``, ``\\udc80``),
  and the legacy command prefix ``##[`` as ``##\\u005b``: the result is one visible line that
  any encoder can write;
- ``line`` makes a whole output line safe to start with data: a leading ``::`` becomes
  ``\\u003a:`` (the runner trims leading spaces before it looks for ``::``);
- ``json_dumps`` is ``json.dumps`` with the same characters as JSON escapes, so the document
  stays valid JSON, parses to the same values, and is safe in a log and in any encoding.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_SUSPECT = re.compile(r"[^\x20-\x7e]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# controls, invisible formatting (bidi, zero-width), lone surrogates, line/paragraph separators
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
LEGACY_COMMAND = "##["  # the runner's legacy workflow command prefix, matched anywhere in a line
_LEGACY_ESCAPED = "##\\u005b"


def hidden(c: str) -> bool:
    """Whether one character must never reach a terminal or log as itself."""
    return unicodedata.category(c) in _HIDDEN


def _u(c: str) -> str:
    return f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"


def _escape_char(match: re.Match[str]) -> str:
    c = match.group()
    if c in _SHORT:
        return _SHORT[c]
    return _u(c) if hidden(c) else c


def _cut(s: str, max_chars: int | None) -> tuple[str, str]:
    if max_chars is None or len(s) <= max_chars:
        return s, ""
    return s[:max_chars], f"\u2026 ({len(s):,} characters)"


def _visible(s: str) -> str:
    out = _SUSPECT.sub(_escape_char, s)
    return out.replace(LEGACY_COMMAND, _LEGACY_ESCAPED) if LEGACY_COMMAND in out else out


def clean(s: object, max_chars: int | None = None) -> str:
    """Untrusted text as one visible line: controls and invisible characters escaped."""
    text, more = _cut(str(s), max_chars)
    return _visible(text) + more


def quote(s: object, max_chars: int | None = None) -> str:
    """An untrusted string in double quotes, escaped like JSON plus invisible characters."""
    text, more = _cut(str(s), max_chars)
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _visible(body) + '"' + more


def line(s: str) -> str:
    """A whole output line that may start with data: never a workflow command.

    Apply it to lines whose parts went through ``clean`` or ``quote`` (it does not escape
    controls itself); generated text never starts with ``::`` nor holds ``##[``.
    """
    if LEGACY_COMMAND in s:
        s = s.replace(LEGACY_COMMAND, _LEGACY_ESCAPED)
    rest = s.lstrip()
    if rest.startswith("::"):
        s = s[: len(s) - len(rest)] + "\\u003a" + rest[1:]
    return s


def lines(text: str) -> str:
    """``line`` applied to every line of a rendered text."""
    if "::" not in text and LEGACY_COMMAND not in text:
        return text
    return "\n".join(line(part) for part in text.split("\n"))


# --- JSON -------------------------------------------------------------------------------------

# In json.dumps output (ensure_ascii=False) every character that is not printable ASCII sits
# inside a string, except the newlines of ``indent``: those strings' own newlines are escaped.
_JSON_SUSPECT = re.compile(r"[^\x20-\x7e\n]")


def _json_char(match: re.Match[str]) -> str:
    c = match.group()
    if not hidden(c):
        return c
    if ord(c) < 0x10000:
        return f"\\u{ord(c):04x}"
    high, low = divmod(ord(c) - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def json_text(dumped: str) -> str:
    """Text made by ``json.dumps(..., ensure_ascii=False)``, its hidden characters and ``##[``
    written as JSON escapes: the same JSON values, safe to print and to encode as UTF-8."""
    out = _JSON_SUSPECT.sub(_json_char, dumped)
    return out.replace(LEGACY_COMMAND, _LEGACY_ESCAPED) if LEGACY_COMMAND in out else out


def json_dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` for output and files: readable non-ASCII text, every hidden character
    (a lone surrogate too) as a JSON escape. ``options`` are ``json.dumps``'s."""
    return json_text(json.dumps(value, ensure_ascii=False, **options))

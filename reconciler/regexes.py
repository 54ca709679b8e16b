"""Tag regexes must work in both engines that matter.

Infracost documents ECMAScript syntax, but its evaluator strips ``/.../flags``, keeps the flags
``i m s`` and compiles the pattern with Go's RE2; a pattern RE2 cannot compile silently matches
everything. So a pattern must compile under ECMAScript (regress) and RE2 (google-re2).
Matching is unanchored: ``dev`` also matches ``api-development``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from reconciler.model import Severity

ALLOWED_FLAGS = "ims"
_SLASHED = re.compile(r"/(?P<body>.*)/(?P<flags>[A-Za-z]*)", re.DOTALL)


@cache
def _engines() -> tuple[Any, Any, Any]:
    """Imported on first use: most directories have few regexes, and start-up counts."""
    import re2
    import regress

    options = re2.Options()
    options.log_errors = False  # RE2 would print every failure to stderr
    return regress, re2, options


@dataclass(frozen=True)
class RegexFinding:
    severity: Severity
    message: str


def split_flags(pattern: str) -> tuple[str, str]:
    """``/body/flags`` -> (body, flags); anything else is a bare body."""
    m = _SLASHED.fullmatch(pattern)
    if m and pattern != "/":
        return m.group("body"), m.group("flags")
    return pattern, ""


def check(pattern: str) -> list[RegexFinding]:
    if pattern == "":
        return [RegexFinding("error", "valueType REGEX needs a non-empty allowedRegex")]
    body, flags = split_flags(pattern)
    if body == "":
        return [RegexFinding("error", "the pattern is empty, so it matches every value")]
    bad = sorted({f for f in flags if f not in ALLOWED_FLAGS})
    if bad:
        return [
            RegexFinding(
                "error",
                f"flag(s) {''.join(bad)} not supported: Infracost keeps only i, m and s "
                "and drops the others",
            )
        ]
    regress, re2, re2_options = _engines()
    try:
        regress.Regex(body, flags)
    except Exception as exc:  # regress raises its own error type with the reason
        return [RegexFinding("error", f"not a valid ECMAScript regex: {exc}")]
    try:
        re2.compile(f"(?{flags}){body}" if flags else body, re2_options)
    except Exception as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        return [
            RegexFinding(
                "error",
                f"valid ECMAScript, but Go's RE2, which Infracost runs, cannot compile it "
                f"[{reason}], and Infracost treats such a pattern as matching every value "
                "(RE2 has no lookarounds or backreferences)",
            )
        ]
    if not body.startswith("^") and not body.endswith("$"):
        return [
            RegexFinding(
                "warning",
                "unanchored: Infracost accepts any value that merely contains a match; "
                "write ^(...)$ to match the whole value",
            )
        ]
    return []

"""What apply reports as it goes: one event per write, then a summary.

``text`` is for people (``+ created Kind "name" (0.12 s)``); ``json`` is one JSON object
per line for the audit trail, read back by ``reconciler github apply-report``. Each function
returns the lines to print, without the final newline. Details and warnings come from outside
(an API's error text): every secret the run knows is scrubbed from them, whole, before anything
is printed or cut. Names, ids, details and warnings are untrusted: text lines show them escaped
(``render.escape``: one visible line, never a workflow command), JSON escapes them the same way.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from reconciler.render.escape import clean, json_dumps, line, quote
from reconciler.secrets import scrub

if TYPE_CHECKING:
    from reconciler.apply import Event, Result
    from reconciler.model import Ref

Format = Literal["text", "json"]
SYMBOLS = {"created": "+", "adopted": "+", "updated": "~", "deleted": "-", "uploaded": "^"}


def event(event: Event, fmt: Format) -> str:
    """One write as it happens (or fails, or is skipped)."""
    detail, warnings = scrub(event.detail), [scrub(w) for w in event.warnings]
    if fmt == "json":
        record: dict[str, Any] = {
            "event": event.outcome,
            "kind": event.ref.kind,
            "name": event.ref.name,
            "id": event.ref.id,
            "detail": detail,
            "warnings": warnings,
            "seconds": event.seconds,
        }
        return json_dumps(record)
    head = f"{SYMBOLS.get(event.outcome, '!')} {event.outcome} {_ref(event.ref)}"
    if detail:
        head += f": {clean(detail)}"
    if event.outcome in SYMBOLS:
        head += f" ({event.seconds:.2f} s)"
    return "\n".join(
        [line(head), *(line(f"    warning: {clean(warning)}") for warning in warnings)]
    )


def summary(result: Result, fmt: Format) -> str:
    """The end of an apply that had something to do."""
    skipped = result.count("skipped")
    if fmt == "json":
        return _json_summary(result.applied, result.failed, skipped, result.interrupted, True)
    head = "interrupted" if result.interrupted else ("failed" if result.failed else "complete")
    lines = [
        f"\nApply {head}: {result.applied} applied, {result.failed} failed, {skipped} skipped."
    ]
    for e in result.events:
        if e.outcome in ("failed", "interrupted", "skipped"):
            lines.append(line(f"  {e.outcome}: {_ref(e.ref)}: {clean(scrub(e.detail))}"))
    if result.failed or skipped:
        lines.append("Run plan again to see exactly the remaining work.")
    return "\n".join(lines)


def nothing(fmt: Format) -> str:
    """The end of an apply that had nothing to do."""
    if fmt == "json":
        return _json_summary(0, 0, 0, False, False)
    return "\nNothing to apply."


def already_applied(plan_file: str, fmt: Format) -> str:
    """The end of an apply of a saved plan whose every write is live already."""
    if fmt == "json":
        return _json_summary(0, 0, 0, False, False)
    return line(
        f"Already applied: the live state already is what {clean(plan_file)} would write; "
        "nothing was written."
    )


def _json_summary(applied: int, failed: int, skipped: int, interrupted: bool, changes: bool) -> str:
    return json.dumps(
        {
            "event": "summary",
            "applied": applied,
            "failed": failed,
            "skipped": skipped,
            "interrupted": interrupted,
            "changes": changes,
        }
    )


def _ref(ref: Ref) -> str:
    ident = f" (id {clean(ref.id)})" if ref.id else ""
    return f"{clean(ref.kind)} {quote(ref.name)}{ident}"

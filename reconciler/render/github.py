"""Markdown for GitHub beyond the plan comment: the drift issue and the apply report.

The same rule as the plan comment (``render.markdown``): text from users or the API only appears
inside code spans or fenced blocks whose fence no line can close, escaped and cut; everything
outside code is written here. Every body stays under GitHub's 65,536 characters and starts with
a hidden marker line that identifies it (per directory and org), so it is edited, not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.model import Plan
from reconciler.render import markdown
from reconciler.render.text import Detail, clean, plural, ref_text
from reconciler.secrets import scrub

BODY_LIMIT = 65_536
MAX_EVENTS = 200  # event lines shown in an apply report; the event log artifact has them all
_DETAIL = Detail(10, True, markdown.MAX_CHARS)
_URL = re.compile(r"https?://[A-Za-z0-9.:/_%?=&+~-]+")
_SYMBOL = {"created": "+", "adopted": "+", "updated": "~", "deleted": "-", "uploaded": "^"}


def kind_marker(kind: str, directory: str, org: str) -> str:
    """``<!-- reconciler:KIND dir=... org=... -->``, encoded like the plan comment's marker."""
    return markdown.marker(directory, org).replace("reconciler:plan ", f"reconciler:{kind} ", 1)


def _link(url: str, text: str) -> str:
    return f"[{text}]({url})" if _URL.fullmatch(url) else ""


def _fenced(lines: Sequence[str], lang: str = "text") -> list[str]:
    runs = [len(m) for line in lines for m in re.findall("`+", line)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [fence + lang, *lines, fence]


def _meta(directory: str, org: str, commit: str, run_url: str) -> str:
    parts = [f"Directory {markdown.code(directory)}", f"org {markdown.code(org)}"]
    if commit:
        parts.append(f"commit {markdown.code(commit)}")
    link = _link(run_url, "workflow run")
    if link:
        parts.append(link)
    return " · ".join(parts)


# --- the drift issue ---------------------------------------------------------------------------


def _plain(s: str) -> str:
    """A title is not code: only letters, digits and ``./ -_`` go in, cut to 80 characters."""
    return re.sub(r"[^\w./ -]", "_", s[:80], flags=re.ASCII)


def drift_title(plan: Plan) -> str:
    return f"Drift: {_plain(plan.dir)} (org {_plain(plan.org)}) differs from the files"


def drift_body(plan: Plan, *, commit: str, run_url: str, branch: str) -> str:
    """The tracking issue: the marker, what to do, then the plan as the comment draws it."""
    head = [
        kind_marker("drift", plan.dir, plan.org),
        f"**The live state differs from the files on {markdown.code(branch)}.** Below is what "
        "`apply` would do to make it match them again: changes made outside the files (in the "
        "Infracost Cloud UI or through the API) show as updates, re-creations or unmanaged "
        "objects.",
        "",
        "- To keep the files as the truth, run the apply workflow: it undoes the changes.",
        "- To keep a change made outside, put it in the files with a pull request.",
        "",
        f"{_meta(plan.dir, plan.org, commit, run_url)}. Each drift check updates this issue and "
        "closes it when it finds no drift.",
        "",
    ]
    prefix = "\n".join(head)
    rendered = markdown.render(plan, commit=commit or None, limit=BODY_LIMIT - len(prefix))
    _, _, rest = rendered.partition("\n")  # the plan comment's own marker is not wanted here
    return prefix + rest


def drift_closing_note(*, commit: str, run_url: str) -> str:
    where = f" at commit {markdown.code(commit)}" if commit else ""
    link = _link(run_url, "workflow run")
    return (
        f"No drift{where}{f' ({link})' if link else ''}: the live state matches the files "
        "again. Closing."
    )


# --- the apply report --------------------------------------------------------------------------


def _event_line(event: Mapping[str, Any]) -> str:
    """One event of the log, every secret the run knows scrubbed before anything is cut."""
    outcome = clean(scrub(str(event.get("event", "?"))), 40)
    kind, name = scrub(str(event.get("kind", "?"))), scrub(str(event.get("name", "?")))
    ident = event.get("id")
    line = f"{_SYMBOL.get(outcome, '!')} {outcome} "
    line += ref_text(kind, name, scrub(str(ident)) if ident else None, _DETAIL)
    detail = event.get("detail")
    if detail:
        line += f": {clean(scrub(str(detail)), markdown.MAX_CHARS)}"
    return line


def apply_report(
    events: Sequence[Mapping[str, Any]],
    *,
    exit_code: int,
    directory: str,
    org: str,
    commit: str,
    run_url: str,
    marker: bool = False,
) -> str:
    """The job summary of an apply (and, with ``marker``, the comment on the merged PR)."""
    summary = next((e for e in reversed(events) if e.get("event") == "summary"), None)
    changes = [e for e in events if e.get("event") != "summary"]
    out = [kind_marker("apply", directory, org)] if marker else []
    out += [_apply_title(summary, exit_code), "", _meta(directory, org, commit, run_url)]
    if exit_code != 0:
        out += [
            "",
            "Run `reconciler plan` (or the plan workflow) to see the remaining work; fix the "
            "cause and re-run the apply workflow. The event log is in the workflow run's "
            "artifacts; the run log has the error.",
        ]
    problems = [e for e in changes if e.get("event") in _PROBLEMS]
    ordered = problems + [e for e in changes if e.get("event") not in _PROBLEMS]
    lines: list[str] = []
    budget = BODY_LIMIT - 2_000 - sum(len(line) + 1 for line in out)
    for event in ordered[:MAX_EVENTS]:
        line = _event_line(event)
        budget -= len(line) + 1
        if budget < 0:
            break
        lines.append(line)
    if lines:
        block = _fenced(lines, "diff")
        if len(lines) > markdown.FOLD_LINES:
            summary_line = f"<summary>{plural(len(lines), 'event')}</summary>"
            block = [f"<details>{summary_line}", "", *block, "", "</details>"]
        out += ["", *block]
    if len(ordered) > len(lines):
        left = len(ordered) - len(lines)
        out += ["", f"... {plural(left, 'more event')} not shown; see the event log artifact."]
    return "\n".join(out)


_PROBLEMS = frozenset({"failed", "interrupted", "skipped"})


def _apply_title(summary: Mapping[str, Any] | None, exit_code: int) -> str:
    if summary is None:
        return f"### Apply failed (exit code {exit_code}) before it reported a summary"
    counts = (
        f"{int(summary.get('applied', 0)):,} applied, {int(summary.get('failed', 0)):,} failed, "
        f"{int(summary.get('skipped', 0)):,} skipped"
    )
    if summary.get("interrupted") or exit_code == 130:
        return f"### Apply interrupted: {counts}"
    if exit_code != 0:
        return f"### Apply failed: {counts}"
    if not summary.get("changes"):
        return "### Apply: no changes"
    return f"### Apply complete: {counts}"

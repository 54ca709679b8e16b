"""A pull report for people (text), for programs (json) and as a pull request's body (markdown).

Only first-field values (the IDs) are ever listed: other columns may be personal data. Values,
names and messages come from the source and the files: text and JSON escape them as every
renderer does (``render.escape``), markdown shows them as plain text or code.
"""

from __future__ import annotations

from typing import Any

from reconciler.pull import FileResult, Report
from reconciler.render import escape
from reconciler.render.escape import clean, quote

MARKER = "<!-- reconciler:pull dir={dir} -->"
LISTED = 20  # values listed per file and direction; the rest are counted


def _counts(f: FileResult) -> str:
    if f.refusals and not f.text:
        return "not fetched" if not f.fetched else f"{f.fetched:,} records fetched"
    before = "new file" if f.before is None else f"{f.before:,} rows before"
    return f"{f.rows:,} rows ({before}), {_delta(f)}"


def _delta(f: FileResult) -> str:
    moved = f" ~{len(f.updated):,}" if f.updated else ""
    return f"+{len(f.added):,} -{len(f.removed):,}{moved}"


def _verdict(report: Report, f: FileResult) -> str:
    if f.refusals:
        return "refused"
    if not f.changed:
        return "unchanged"
    if report.dry_run:
        return "would change (dry run)"
    return "written" if report.written else "not written (another file was refused)"


def _sample(values: list[str]) -> str:
    shown = ", ".join(quote(v) for v in values[:LISTED])
    more = len(values) - LISTED
    return shown + (f", ... and {more:,} more" if more > 0 else "")


def _place(shown: str) -> str:
    """The directory in a sentence: ``.`` would read as a full stop (or, before one, as ``..``)."""
    return "the current directory" if shown == "." else clean(shown)


def as_text(report: Report, shown: str) -> str:
    lines = []
    for f in report.files:
        p = f.pull
        head = f"{clean(p.file)} <- {clean(p.source)} {clean(p.table)}"
        lines.append(f"{head}: {_counts(f)}: {_verdict(report, f)}")
        if f.added and f.changed:
            lines.append(f"    + {_sample(f.added)}")
        if f.removed and f.changed:
            lines.append(f"    - {_sample(f.removed)}")
        if f.updated and f.changed:
            lines.append(f"    ~ {_sample(f.updated)}")
        lines += [f"    note: {clean(n)}" for n in f.notes]
        lines += [f"    hygiene: {clean(h)}" for h in f.hygiene]
        lines += [f"    refused: {clean(r)}" for r in f.refusals]
    if report.errors:
        lines.append(
            f"\nPull refused: {len(report.errors)} problem(s); no file in {_place(shown)} was "
            "written."
        )
    elif not report.changed:
        lines.append("\nNo changes: every file matches its source.")
    elif report.dry_run:
        lines.append("\nDry run: nothing was written.")
    else:
        n = sum(1 for f in report.files if f.changed)
        lines.append(
            f"\nPulled: {n} file(s) written in {_place(shown)}. Plan to see what they change."
        )
    return escape.lines("\n".join(lines))


def as_json(report: Report, shown: str) -> str:
    data: dict[str, Any] = {
        "dir": shown,
        "changed": report.changed,
        "written": report.written and report.changed and not report.dry_run,
        "dryRun": report.dry_run,
        "errors": report.errors,
        "files": [
            {
                "file": f.pull.file,
                "source": f.pull.source,
                "table": f.pull.table,
                "fetched": f.fetched,
                "rows": f.rows,
                "rowsBefore": f.before,
                "added": f.added,
                "removed": f.removed,
                "updated": f.updated,
                "changed": f.changed,
                "verdict": _verdict(report, f),
                "notes": f.notes,
                "hygiene": f.hygiene,
                "refusals": f.refusals,
            }
            for f in report.files
        ],
    }
    return escape.json_dumps(data, indent=2)


def _md(text: str) -> str:
    """Plain text in markdown: nothing a value holds can format, link or mention."""
    out = []
    for ch in text:
        if ch in "\\`*_[]<>|~@#":
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        elif escape.hidden(ch):
            out.append(clean(ch).replace("\\", "\\\\"))  # shown as \u001b, not sent as ESC
        else:
            out.append(ch)
    return "".join(out)


def _code(text: str) -> str:
    """A code span that nothing in ``text`` can close or break."""
    one = clean(" ".join(text.replace("`", "'").split()))
    return f"`{one}`"


def as_markdown(report: Report, shown: str) -> str:
    lines = [MARKER.format(dir=shown.replace("--", "- -")), "## reconciler pull", ""]
    if report.errors:
        lines.append(f"**Refused**: nothing was written in `{_md(shown)}`.")
    elif report.changed:
        lines.append("The source changed: these files follow it. Review the plan below.")
    else:
        lines.append("No changes: every file matches its source.")
    lines += ["", "| file | source | rows | change | verdict |", "|---|---|---|---|---|"]
    for f in report.files:
        p = f.pull
        change = _delta(f) if f.text else ""
        lines.append(
            f"| {_code(p.file)} | {_md(p.source)} {_code(p.table)} | {f.rows:,} | {change} "
            f"| {_verdict(report, f)} |"
        )
    for f in report.files:
        details = [*(f"refused: {r}" for r in f.refusals), *f.notes]
        details += [f"hygiene: {h}" for h in f.hygiene[:LISTED]]
        if len(f.hygiene) > LISTED:
            details.append(f"hygiene: {len(f.hygiene) - LISTED:,} more findings (run pull)")
        moves = [
            (word, values)
            for word, values in (("added", f.added), ("removed", f.removed), ("changed", f.updated))
            if values and f.changed
        ]
        if not (details or moves):
            continue
        lines += ["", f"### {_code(f.pull.file)}", ""]
        lines += [f"- {_md(d)}" for d in details]
        lines += [f"- {word}: {_md(_sample(values))}" for word, values in moves]
    return "\n".join(lines)

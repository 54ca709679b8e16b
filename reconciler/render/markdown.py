"""The pull-request comment: a plan in GitHub-flavoured markdown, always under the size limit.

Escaping rule, one for the whole comment: text from users or the API (names, values, reasons,
messages, org, directory, commit, targets) only ever appears inside a code block or a code span,
escaped as in the text plan (control and invisible characters shown as ``\\n``, ``\\u202e``), cut
to ``MAX_CHARS`` characters, with a fence longer than any backtick run it contains. Markdown,
HTML, ``@mentions`` and ``#123`` references are inert there. Everything outside code is
generated here. The hidden marker percent-encodes its values, so they never close the comment.

Size: the comment is rendered at decreasing levels of detail until it fits under ``limit``:
unmanaged objects and warnings beyond 20, then value samples, then field lines; then whole
entries are dropped from the end (refusal reasons last), each section saying how many it left
out. The marker line always survives.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import quote as percent

from reconciler.model import Change, Governance, Plan
from reconciler.render import escape, text
from reconciler.render.text import Detail, clean, plural

MAX_CHARS = 300  # longest user string shown; the plan artifact has everything
FOLD_LINES = 30  # longer code blocks go inside <details>
LIST_CAP = 20  # unmanaged objects and warnings listed once the comment must shrink
_MARKER_MAX = 200
_ARTIFACT = "see the plan artifact / `reconciler show`"
_GROUPS: dict[Governance, str] = {
    "tightening": "more pull requests commented on, failed or blocked",
    "mixed": "tighter in some ways, looser in others",
    "unknown": "the effect depends on the code under review",
    "loosening": "fewer pull requests commented on, failed or blocked",
    "neutral": "no effect on enforcement",
}
# (detail, cap on unmanaged objects and warnings, what the reader is told was trimmed)
_LEVELS: tuple[tuple[Detail, int | None, str], ...] = (
    (Detail(10, True, MAX_CHARS), None, ""),
    (Detail(10, True, MAX_CHARS), LIST_CAP, ""),
    (Detail(3, True, MAX_CHARS), LIST_CAP, "value samples shortened to 3 per set"),
    (Detail(0, True, MAX_CHARS), LIST_CAP, "value samples left out"),
    (Detail(0, False, MAX_CHARS), LIST_CAP, "field-level changes left out"),
)


# --- escaping --------------------------------------------------------------------------------


def _marker_value(value: str) -> str:
    # keeps letters, digits and "-._~/:@+,"; everything else is %XX (UTF-8)
    encoded = percent(value, safe="/:@+,~", errors="surrogatepass")
    encoded = re.sub(r"-(?=-)", "%2D", encoded)  # no "--" inside an HTML comment
    if len(encoded) > _MARKER_MAX:
        cut = re.sub(r"%[0-9A-F]?$", "", encoded[: _MARKER_MAX - 20])
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        encoded = f"{cut}~{digest}"
    return encoded


def marker(directory: str, org: str) -> str:
    """The hidden first line that identifies the comment of one directory and org.

    Values are percent-encoded (no space, ``>``, ``<``, ``=`` or ``--`` survives) and long ones
    are cut and suffixed with a digest, so the line is at most about 450 characters.
    """
    return f"<!-- reconciler:plan dir={_marker_value(directory)} org={_marker_value(org)} -->"


def _longest_run(s: str, char: str = "`") -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", s)), default=0)


def code(s: str) -> str:
    """User text as an inline code span: one line, cut, fenced past its own backticks."""
    body = clean(s, MAX_CHARS) or " "
    fence = "`" * (_longest_run(body) + 1)
    if body[0] in "` " or body[-1] in "` ":
        body = f" {body} "
    return f"{fence}{body}{fence}"


def _block(lines: list[str], lang: str) -> list[str]:
    """A fenced code block whose fence no content line can close."""
    fence = "`" * max(3, max((_longest_run(line) for line in lines), default=0) + 1)
    return [fence + lang, *map(escape.line, lines), fence]  # printed in CI logs too


# --- sections ----------------------------------------------------------------------------------


@dataclass
class _Section:
    title: str  # generated markdown, no user text
    items: list[list[str]]  # code-block lines per entry, already escaped
    noun: tuple[str, str]  # singular, plural
    lang: str = "text"
    cap: int | None = None
    alert: bool = False  # the refusal: a CAUTION alert, never folded
    blank_between: bool = False
    intro: list[str] = field(default_factory=list)


def _change_sections(plan: Plan, detail: Detail) -> list[_Section]:
    """One section per governance label, tightening first; changes in plan order within."""
    shown = text.shown_changes(plan)
    sections = []
    for label, meaning in _GROUPS.items():
        group: list[Change] = [c for c in shown if c.governance == label]
        if not group:
            continue
        sections.append(
            _Section(
                f"#### {label.capitalize()} ({len(group):,}): {meaning}",
                [text.change_lines(c, detail) for c in group],
                ("change", "changes"),
                lang="diff",
                blank_between=detail.fields,
            )
        )
    return sections


def _sections(plan: Plan, detail: Detail, cap: int | None) -> list[_Section]:
    """In priority order, which is also display order: the refusal reasons go first."""
    out: list[_Section] = []
    if plan.errors:
        out.append(
            _Section(
                "> [!CAUTION]",
                [[clean(e, MAX_CHARS)] for e in plan.errors],
                ("problem", "problems"),
                alert=True,
                intro=[
                    f"> **Plan refused**: nothing can be applied until "
                    f"{'this problem is' if len(plan.errors) == 1 else 'these problems are'} "
                    "fixed.",
                    ">",
                ],
            )
        )
    if plan.hygiene:
        out.append(_hygiene_section(plan, cap))
    out += _change_sections(plan, detail)
    cp = plan.custom_properties
    if cp is not None and cp.status != "no-op":
        lines = text.custom_properties_lines(cp, detail)
        out.append(_Section("#### Custom properties", [lines], ("entry", "entries"), lang="diff"))
    if plan.unmanaged:
        out.append(
            _Section(
                f"#### Unmanaged ({len(plan.unmanaged):,}): live objects not in the files, "
                "left alone",
                [[text.unmanaged_line(u, detail)] for u in plan.unmanaged],
                ("unmanaged object", "unmanaged objects"),
                cap=cap,
            )
        )
    if plan.warnings:
        out.append(
            _Section(
                f"#### Warnings ({len(plan.warnings):,})",
                [[clean(w, MAX_CHARS)] for w in plan.warnings],
                ("warning", "warnings"),
                cap=cap,
            )
        )
    return out


def _hygiene_section(plan: Plan, cap: int | None) -> _Section:
    """Values this change adds that look like typos or variants of others: shown before the
    changes, since they are cheapest to fix now."""
    n = len(plan.hygiene)
    return _Section(
        "> [!WARNING]",
        [[clean(h, MAX_CHARS)] for h in plan.hygiene],
        ("finding", "findings"),
        cap=cap,
        alert=True,
        intro=[
            f"> **Tag-value hygiene ({n:,})**: this change adds values that look like typos or "
            "variants of others. Fix them before merging, or declare intentional pairs under "
            "`hygiene:` in `reconciler.yaml`.",
            ">",
        ],
    )


def _render_section(section: _Section, n: int) -> list[str]:
    lines: list[str] = []
    for item in section.items[:n]:
        if lines and section.blank_between:
            lines.append("")
        lines += item
    left = len(section.items) - n
    more = "more " if n else ""
    noun = section.noun[0] if left == 1 else section.noun[1]
    note = f"... {left:,} {more}{noun} not shown; {_ARTIFACT}."
    if section.alert:
        out = [section.title, *section.intro]
        if lines:
            out += ["> " + line if line else ">" for line in _block(lines, section.lang)]
        if left:
            out += [">", "> " + note]
        return out
    out = [section.title, ""]
    if lines:
        block = _block(lines, section.lang)
        if len(lines) > FOLD_LINES:
            what = plural(n, *section.noun)
            summary = f"<summary>Show {what} ({len(lines):,} lines)</summary>"
            block = [f"<details>{summary}", "", *block, "", "</details>"]
        out += block
    if left:
        out += ([""] if lines else []) + [note]
    return out


# --- the comment -------------------------------------------------------------------------------


def _heading(plan: Plan, commit: str | None) -> list[str]:
    summary = text.counts(plan).rstrip(".").removeprefix("Plan: ")
    if plan.errors:
        title = f"### Plan refused: {summary}"
    elif plan.has_changes:
        title = f"### Plan: {summary}"
    else:
        title = "### No changes"
    labels = text.governance_counts(plan)
    if labels:
        title += " (" + ", ".join(f"{n:,} {label}" for label, n in labels) + ")"
    if plan.api == "sandbox" or plan.api.startswith("sandbox:"):
        api = "sandbox: nothing reaches Infracost"
    else:
        api = f"API {code(plan.api)}"
    meta = f"Org {code(plan.org)} · directory {code(plan.dir)} · {api}"
    if commit:
        meta += f" · planned at {code(commit)}"
    out = [title, "", meta]
    if plan.partial:
        scope = [f"--target {t}" for t in plan.targets] + [f"--exclude {t}" for t in plan.excludes]
        shown = ", ".join(code(s) for s in scope[:LIST_CAP])
        if len(scope) > LIST_CAP:
            shown += f" and {len(scope) - LIST_CAP:,} more"
        out += ["", f"**Partial plan** ({shown}): other objects are neither shown nor changed."]
    return out


def _available(section: _Section) -> int:
    return len(section.items) if section.cap is None else min(len(section.items), section.cap)


def _assemble(head: list[str], sections: list[_Section], trimmed: str, keep: int | None) -> str:
    """The comment from its parts, with at most ``keep`` entries (None: every one)."""
    total = sum(_available(s) for s in sections)
    budget = total if keep is None else keep
    out = list(head)
    dropped = {"change": 0, "other": 0}
    for section in sections:
        n = min(_available(section), budget)
        budget -= n
        dropped["change" if section.noun[0] == "change" else "other"] += len(section.items) - n
        out += ["", *_render_section(section, n)]
    what = [trimmed] if trimmed else []
    if dropped["change"]:
        changes = sum(len(s.items) for s in sections if s.noun[0] == "change")
        what.append(f"{dropped['change']:,} of {plural(changes, 'change')} not shown")
    if what or dropped["other"]:
        reasons = f" ({'; '.join(what)})" if what else ""
        out += ["", f"_Trimmed to stay under GitHub's comment size limit{reasons}; {_ARTIFACT}._"]
    return "\n".join(out)


def render(plan: Plan, *, commit: str | None = None, limit: int = 65_536) -> str:
    """The PR comment, strictly shorter than ``limit`` characters, marker first."""
    head = [marker(plan.dir, plan.org), *_heading(plan, commit)]
    if limit <= len(head[0]) + 1:
        raise ValueError(f"a comment limit of {limit:,} characters cannot hold the marker")
    for detail, cap, trimmed in _LEVELS:
        sections = _sections(plan, detail, cap)
        doc = _assemble(head, sections, trimmed, None)
        if len(doc) < limit:
            return doc
    lo, hi = 0, sum(_available(s) for s in sections)
    best = _assemble(head, sections, trimmed, 0)
    if len(best) >= limit:
        return _minimal(plan, limit)
    while lo < hi:  # the largest number of entries that fits, in priority order
        mid = (lo + hi + 1) // 2
        doc = _assemble(head, sections, trimmed, mid)
        if len(doc) < limit:
            lo, best = mid, doc
        else:
            hi = mid - 1
    return best


def _minimal(plan: Plan, limit: int) -> str:
    """When even the headings do not fit: the marker, the counts and where to look."""
    lines = [marker(plan.dir, plan.org), f"### {text.counts(plan).rstrip('.')}"]
    if plan.errors:
        lines.append(f"**Plan refused** ({plural(len(plan.errors), 'problem')}).")
    lines.append(f"The plan is too large to show here; {_ARTIFACT}.")
    out = ""
    for line in lines:
        candidate = f"{out}\n{line}" if out else line
        if len(candidate) >= limit:
            break
        out = candidate
    return out

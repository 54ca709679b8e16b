"""The pull-request comment: a plan in GitHub-flavoured markdown, always under the size limit.

Read in five seconds: the heading (counts, or why nothing will happen), one line of context
(org, directory, where the live state came from, commit and run links), then an always-visible
table with one row per change. What needs the reader's action comes next, as bullets (refusal
reasons, each starting with its fix; tag-value hygiene findings with links to the file lines;
warnings). The full diff follows, folded per governance label, with ``+``, ``-`` and ``!`` in
column 0 so that GitHub colours every line, and no line longer than ``WIDTH`` characters.

Escaping rule, one for the whole comment: text from users or the API (names, values, reasons,
messages, org, directory, commit, targets) only ever appears inside a code block, a code span
or a ``<code>`` element, escaped as in the text plan (control and invisible characters shown as
``\\n``, ``\\u202e``), cut to ``MAX_CHARS`` characters, with a fence longer than any backtick
run it contains; in table cells ``|`` is escaped too. Markdown, HTML, ``@mentions`` and ``#123``
references are inert there. Everything outside code is generated here. Links are built only from
the Actions environment (checked: an http(s) server, ``owner/name``, a numeric run id, a hex
commit). The hidden marker percent-encodes its values, so they never close the comment.

Size: the comment is rendered at decreasing levels of detail until it fits under ``limit``:
unmanaged objects, warnings and table rows beyond a cap; then detail per change, from the
last change backwards (the first changes keep their attribute lines); then whole entries are
dropped from the end (refusal reasons last), each section saying how many it left out. The
marker line always survives.
"""

from __future__ import annotations

import hashlib
import html
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote as percent

from reconciler.model import Change, FieldChange, Governance, Note, Plan
from reconciler.render import escape, text
from reconciler.render.text import Detail, clean, plural, quote

MAX_CHARS = 300  # longest user string shown; the plan artifact has everything
# longest line inside a code block: a 900 px comment shows about 115 monospace characters
WIDTH = 110
LIST_CAP = 20  # unmanaged objects, warnings and findings listed once the comment must shrink
TABLE_ROWS = 25  # rows of the change table shown before the rest is folded
FOLD_LINES = 30  # kept for other renderers (render.github): longer blocks are folded
_NAMES_IN_LABEL = 6
_MARKER_MAX = 200
_ARTIFACT = "see the plan artifact / `reconciler show`"
_GROUPS: dict[Governance, str] = {
    "tightening": "more pull requests commented on, failed or blocked",
    "mixed": "tighter in some ways, looser in others",
    "unknown": "the effect depends on the code under review",
    "loosening": "fewer pull requests commented on, failed or blocked",
    "neutral": "no effect on enforcement",
}
_FULL = Detail(10, True, MAX_CHARS)
_BRIEF = Detail(0, False, MAX_CHARS)


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
    if char not in s:
        return 0
    return max(len(m) for m in re.findall(f"{re.escape(char)}+", s))


def code(s: str, *, max_chars: int = MAX_CHARS, cell: bool = False) -> str:
    """User text as an inline code span: one line, cut, fenced past its own backticks; in a
    table ``cell`` its ``|`` are escaped (GFM splits cells before it reads code spans)."""
    body = clean(s, max_chars) or " "
    fence = "`" * (_longest_run(body) + 1)
    if body[0] in "` " or body[-1] in "` ":
        body = f" {body} "
    if cell:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def _html_code(s: str, max_chars: int = 60) -> str:
    """User text in raw HTML (a fold's label): a ``<code>`` element, every special character
    an entity, ``@`` and ``#`` too, so nothing links or mentions."""
    body = html.escape(clean(s, max_chars), quote=True)
    body = body.replace("@", "&commat;").replace("#", "&num;").replace("`", "&grave;")
    return f"<code>{body}</code>"


def _block(lines: list[str], lang: str) -> list[str]:
    """A fenced code block whose fence no content line can close."""
    fence = "`" * max(3, _longest_run("\n".join(lines)) + 1)  # no run crosses a line
    return [fence + lang, *map(escape.line, lines), fence]  # printed in CI logs too


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """A diff line cut at spaces into lines of at most ``width`` characters; each continuation
    keeps the marker in column 0 and is indented 4 deeper. A word longer than a line is cut."""
    if len(line) <= width:
        return [line]
    mark = line[:1] if line[:1] in "+-! " else " "
    indent = len(line) - len(line[1:].lstrip(" ")) - 1 + 4
    lead = mark + " " * indent
    room = max(width - len(lead), 20)
    out: list[str] = []
    rest = line
    while len(rest) > width:
        cut = rest.rfind(" ", len(lead) if out else indent + 2, width)
        if cut <= (len(lead) if out else indent + 1):
            cut = width
            head, rest = rest[:cut], rest[cut:]
        else:
            head, rest = rest[:cut], rest[cut + 1 :]
        out.append(head)
        rest = lead + rest
        if len(rest) - len(lead) <= room:
            break
    out.append(rest)
    return out


# --- links -----------------------------------------------------------------------------------

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


@dataclass(frozen=True)
class Links:
    """Where the comment can link to: the Actions environment, checked; empty outside it."""

    server: str = ""  # https://github.com
    repository: str = ""  # owner/name
    run_id: str = ""
    commit: str = ""  # the head commit the plan was made at
    now: datetime | None = None  # for the age of a snapshot

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], commit: str = "", now: datetime | None = None
    ) -> Links:
        server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
        repo = env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID", "")
        ok = re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", server) and _REPO.fullmatch(repo)
        return cls(
            server=server if ok else "",
            repository=repo if ok else "",
            run_id=run_id if ok and run_id.isdigit() else "",
            commit=commit,
            now=now,
        )

    def _base(self) -> str:
        return f"{self.server}/{self.repository}" if self.server and self.repository else ""

    def commit_url(self, sha: str) -> str:
        return f"{self._base()}/commit/{sha}" if self._base() and _SHA.fullmatch(sha) else ""

    def run_url(self) -> str:
        return f"{self._base()}/actions/runs/{self.run_id}" if self._base() and self.run_id else ""

    def file_url(self, directory: str, file: str, line: int) -> str:
        """The file line at the head commit; none for a path outside the repository."""
        if not (self._base() and _SHA.fullmatch(self.commit)) or not file:
            return ""
        path = posixpath.normpath(posixpath.join(directory, file))
        if path.startswith(("../", "/")) or path == "..":
            return ""
        anchor = f"#L{line}" if line > 0 else ""
        return f"{self._base()}/blob/{self.commit}/{percent(path, safe='/')}{anchor}"


def _link(label: str, url: str) -> str:
    """``label`` is generated markdown (a code span at most); ``url`` was built by ``Links``."""
    return f"[{label}]({url})" if url else label


def _short(sha: str) -> str:
    return sha[:7] if _SHA.fullmatch(sha) else sha


def _age(taken: str, now: datetime | None) -> str:
    try:
        when = datetime.strptime(taken, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return ""
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    if seconds < 0:
        return ""
    if seconds < 3600:
        return f"{int(seconds // 60)} min old"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h old"
    return f"{int(seconds // 86400)} days old"


# --- the change table --------------------------------------------------------------------------


def _number(v: Any) -> str:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:,}"
    return text.value(v, _BRIEF_VALUE)


_BRIEF_VALUE = Detail(3, True, 40)


def _field_summary(change: Change, fc: FieldChange) -> str:
    path = fc.path
    if fc.secret:
        if fc.after in ("", None) and fc.before not in ("", None):
            return f"{path} removed"
        if fc.before in ("", None):
            return f"{path} set"
        return f"{path} replaced"
    if fc.is_set:
        return f"{path} +{len(fc.added):,} -{len(fc.removed):,}"
    if isinstance(fc.after, Mapping) and fc.before is None:
        return f"{path} added"
    if isinstance(fc.before, Mapping) and fc.after is None:
        return f"{path} removed"
    return f"{path} {_number(fc.before)} -> {_number(fc.after)}"


def _create_summary(fc: FieldChange) -> str:
    if fc.secret:
        return fc.path
    if fc.is_set:
        return f"{fc.path} {plural(len(fc.added), 'value')}"
    if isinstance(fc.after, Mapping):
        tags = [v for v in fc.after.values() if isinstance(v, Mapping) and "key" in v]
        if tags and len(tags) == len(fc.after):
            n = sum(len(t.get("allowedValues") or ()) for t in tags)
            return f"{plural(len(tags), 'tag')}" + (f" ({plural(n, 'value')})" if n else "")
        return fc.path
    return f"{fc.path} {_number(fc.after)}"


def _what(change: Change) -> str:
    """What changes, in a few words: ``totalThreshold 25,000 -> 15,000; +30 -12 values``."""
    if change.action == "delete":
        return change.reason or "deleted"
    if change.action == "create":
        parts = [_create_summary(fc) for fc in _create_fields(change) if fc.path != "message"]
        return "new" + (": " + _few(parts, ", ") if parts else "")
    return _few([_field_summary(change, fc) for fc in change.fields], "; ")


def _few(parts: list[str], sep: str) -> str:
    """Two parts and how many more; three when that is all (never "and 1 more")."""
    if len(parts) <= 3:
        return sep.join(parts)
    return sep.join(parts[:2]) + f"{sep}and {len(parts) - 2:,} more"


def _effect(change: Change) -> str:
    return text.label(change).removeprefix("neutral, ")


def _row(change: Change, refused: bool) -> str:
    action = {
        "create": "`+`&nbsp;create",
        "update": "`!`&nbsp;update",
        "delete": "**`-`&nbsp;delete**",
    }[change.action]
    if refused:
        action = f"⛔&nbsp;{action}, refused"
    cells = [
        action,
        code(change.ref.kind, max_chars=40, cell=True),
        code(change.ref.name, max_chars=80, cell=True),
        _effect(change),
        code(_what(change), max_chars=160, cell=True),
    ]
    return "| " + " | ".join(cells) + " |"


def _by_kind(changes: Sequence[Change]) -> str:
    kinds: dict[str, dict[str, int]] = {}
    for c in changes:
        kinds.setdefault(c.ref.kind, {}).setdefault(c.action, 0)
        kinds[c.ref.kind][c.action] += 1
    words = {"create": "to add", "update": "to change", "delete": "to destroy"}
    parts = []
    for kind, counts in kinds.items():
        each = ", ".join(f"{counts[a]:,} {words[a]}" for a in words if a in counts)
        parts.append(f"{code(kind, max_chars=40)} {each}")
    return " · ".join(parts)


# --- sections ----------------------------------------------------------------------------------


@dataclass
class _Section:
    title: str  # generated markdown, no user text
    items: list[list[str]]  # lines per entry, already escaped
    noun: tuple[str, str]  # singular, plural
    kind: str = "block"  # block (folded code), bullets, table, alert
    lang: str = "diff"
    cap: int | None = None
    intro: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # a table's header rows
    fold: str = ""  # label of the fold (generated HTML); empty: not folded
    visible: int | None = None  # table rows shown before the fold


def _sections(
    plan: Plan, links: Links, full: int | None, cap: int | None, memo: dict[Any, Any]
) -> list[_Section]:
    """In priority order, which is also display order: the refusal reasons go first.
    ``full``: how many changes keep their field lines (None: all). ``memo`` keeps the rows and
    diff lines between the attempts of ``render`` to fit: they do not depend on the cuts."""
    from reconciler.plan import ALLOW_MASS_DELETE
    from reconciler.plan import refused as is_refused

    shown = text.shown_changes(plan)
    out: list[_Section] = []
    if plan.errors:
        out.append(
            _Section(
                "> [!CAUTION]",
                [[f"> - {code(e)}"] for e in plan.errors],
                ("problem", "problems"),
                kind="alert",
                intro=[
                    f"> **Nothing will be applied** until "
                    f"{'this problem is' if len(plan.errors) == 1 else 'these problems are'} "
                    "fixed; each starts with its fix."
                    + (
                        " A pull request that means its deletions allows them with "
                        "`allowMassDelete: true` in `reconciler.yaml` (remove it once applied)."
                        if any(ALLOW_MASS_DELETE in e for e in plan.errors)
                        else ""
                    ),
                    ">",
                ],
            )
        )
    if shown:
        if "rows" not in memo:
            refused = bool(plan.errors)
            memo["rows"] = [[_row(c, refused and is_refused(plan.errors, c))] for c in shown]
        rows = memo["rows"]
        out.append(
            _Section(
                "",
                rows,
                ("row", "rows"),
                kind="table",
                header=["| | kind | name | effect | what changes |", "|---|---|---|---|---|"],
                visible=TABLE_ROWS,
                cap=None if cap is None else TABLE_ROWS * 4,
            )
        )
    if plan.hygiene_notes or plan.hygiene:
        out.append(_hygiene_section(plan, links, cap))
    flagged = _flagged(plan)
    index = 0
    for label, meaning in _GROUPS.items():
        group: list[Change] = [c for c in shown if c.governance == label]
        if not group:
            continue
        items = []
        for c in group:
            detail = _FULL if full is None or index < full else _BRIEF
            key = (index, detail is _FULL)
            if key not in memo:
                memo[key] = diff_lines(c, detail, flagged.get((c.ref.kind, c.ref.name), ()))
            items.append(memo[key])
            index += 1
        names = ", ".join(_html_code(c.ref.name) for c in group[:_NAMES_IN_LABEL])
        if len(group) > _NAMES_IN_LABEL:
            names += f" and {len(group) - _NAMES_IN_LABEL:,} more"
        out.append(
            _Section(
                f"#### {label.capitalize()} ({len(group):,}): {meaning}",
                items,
                ("change", "changes"),
                fold=f"Show the diff: {names}",
            )
        )
    cp = plan.custom_properties
    if cp is not None and cp.status != "no-op":
        lines = [_marked(line) for line in text.custom_properties_lines(cp, _FULL)]
        out.append(
            _Section(
                "#### Custom properties",
                [[w for line in lines for w in wrap(line)]],
                ("entry", "entries"),
                fold="Show the rows",
            )
        )
    if plan.unmanaged:
        out.append(
            _Section(
                f"#### Unmanaged ({len(plan.unmanaged):,}): live objects not in the files, "
                "left alone",
                [[f"- {code(text.unmanaged_line(u, _FULL)[2:])}"] for u in plan.unmanaged],
                ("unmanaged object", "unmanaged objects"),
                kind="bullets",
                cap=cap,
            )
        )
    warnings = [[f"- {_note_bullet(n, plan, links)}"] for n in plan.validation]
    warnings += [[f"- {code(w)}"] for w in plan.warnings]
    if warnings:
        out.append(
            _Section(
                f"#### Warnings ({len(warnings):,})",
                warnings,
                ("warning", "warnings"),
                kind="bullets",
                cap=cap,
            )
        )
    return out


def _note_bullet(n: Note, plan: Plan, links: Links) -> str:
    where = f"{n.file}:{n.line}" if n.line else n.file
    place = _link(code(where), links.file_url(plan.dir, n.file, n.line)) if n.file else ""
    subject = f"{code(n.subject)}: " if n.subject else ""
    return f"{place} {subject}{code(n.message)}".strip()


def _flagged(plan: Plan) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per object, the values the plan's hygiene findings are about: shown first, always."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for n in plan.hygiene_notes:
        out[(n.kind, n.name)] = out.get((n.kind, n.name), ()) + n.values
    return out


def _hygiene_section(plan: Plan, links: Links, cap: int | None) -> _Section:
    """Values this change adds that look like typos or variants of others: a table with a link
    to each file line, before the diff, since they are cheapest to fix now."""
    notes = plan.hygiene_notes
    subjects = {n.subject for n in notes}
    rows = []
    for n in notes:
        where = f"{n.file}:{n.line}" if n.line else n.file
        place = _link(code(where, cell=True), links.file_url(plan.dir, n.file, n.line))
        cells = [
            ", ".join(code(v, max_chars=60, cell=True) for v in n.values) or "(tag key)",
            code(n.message, cell=True),
            code(n.suggestion, max_chars=60, cell=True) if n.suggestion else "",
            place,
        ]
        if len(subjects) > 1:
            cells.insert(0, code(n.subject, max_chars=80, cell=True))
        rows.append(["> | " + " | ".join(cells) + " |"])
    if not notes:  # a plan file of an older version: the lines only
        rows = [[f"> - {code(h)}"] for h in plan.hygiene]
        header: list[str] = []
    else:
        names = ["value", "problem", "suggestion", "where"]
        if len(subjects) > 1:
            names.insert(0, "in")
        header = ["> | " + " | ".join(names) + " |", "> |" + "---|" * len(names)]
    count = len(notes or plan.hygiene)
    about = f" in {code(next(iter(subjects)))}" if len(subjects) == 1 else ""
    return _Section(
        "> [!WARNING]",
        rows,
        ("finding", "findings"),
        kind="alert",
        cap=cap,
        header=header,
        intro=[
            f"> **Tag-value hygiene ({count:,})**{about}: this change adds values that look like "
            "typos or variants of others. Fix them before merging, or declare intentional pairs "
            "under `hygiene:` in `reconciler.yaml`.",
            ">",
        ],
    )


# --- diff lines --------------------------------------------------------------------------------


def _marked(line: str) -> str:
    """A text-plan line with its marker moved to column 0: ``~`` becomes ``!``, which GitHub
    colours (as Atlantis does)."""
    body = line.lstrip(" ")
    pad = len(line) - len(body)
    if body[:1] in "+-~" and body[1:2] == " ":
        mark = "!" if body[0] == "~" else body[0]
        return mark + " " * (pad + 1) + body[2:]
    return line


def _defaults(kind: str) -> dict[str, Any]:
    from reconciler import kinds
    from reconciler.schemas import load_schema

    found = kinds.OBJECT_KINDS.get(kind)
    if found is None:
        return {}
    props = load_schema(found.schema).get("properties", {})
    return {k: p["default"] for k, p in props.items() if isinstance(p, dict) and "default" in p}


def _empty(v: Any) -> bool:
    if isinstance(v, Mapping):
        return all(_empty(x) for x in v.values())
    return v in (None, "", [], ())


def _create_fields(change: Change) -> list[FieldChange]:
    """A create's attributes a reader needs: not its name (in the header), not a default, not
    an empty one."""
    defaults = _defaults(change.ref.kind)
    out = []
    for fc in change.fields:
        if fc.path == "name" or (not fc.is_set and fc.after in ("", None) and not fc.secret):
            continue
        if (fc.secret and fc.after == "") or (not fc.is_set and _empty(fc.after)):
            continue
        if fc.path in defaults and not fc.secret and fc.after == defaults[fc.path]:
            continue
        if fc.is_set and not fc.added:
            continue
        out.append(fc)
    return out


def diff_lines(change: Change, detail: Detail, flagged: Sequence[str] = ()) -> list[str]:
    """One change for a ``diff`` block: every line starts with ``+``, ``-`` or ``!`` (or a
    space for context), no id in the header, no default or empty attribute in a create, and no
    line longer than ``WIDTH``."""
    mark = {"create": "+", "update": "!", "delete": "-"}[change.action]
    ref = change.ref
    head = f"{mark} {change.action} {clean(ref.kind, 40)} {quote(ref.name, detail.max_chars)}"
    if change.reason:
        head += f"  # {clean(change.reason, detail.max_chars)}"
    lines = [head]
    if change.unresolved:
        names = ", ".join(clean(n, detail.max_chars) for n in change.unresolved)
        lines.append(f"{mark}   needs {names}, not set here: apply will fail this change")
    if detail.fields and change.action == "create":
        for fc in _create_fields(change):
            fc_sorted = fc
            if fc.is_set:
                fc_sorted = FieldChange(fc.path, added=text.first(fc.added, flagged), is_set=True)
            lines += ["+   " + line[4:] for line in text.create_field(fc_sorted, change, detail)]
    elif detail.fields and change.action == "update":
        for fc in change.fields:
            lines += _update_lines(change, fc, detail, flagged)
    return [w for line in lines for w in wrap(line)]


def _update_lines(
    change: Change, fc: FieldChange, detail: Detail, flagged: Sequence[str]
) -> list[str]:
    path = clean(fc.path, detail.max_chars)
    label = "" if fc.governance == "neutral" else f"  [{fc.governance}]"
    if text.notifies(change, fc):
        label += "  [who is notified]"
    if fc.is_set:
        out = [f"!   {path}: +{len(fc.added):,} -{len(fc.removed):,} ({fc.unchanged:,} unchanged)"]
        out[0] += label
        for sign, items in (("+", text.first(fc.added, flagged)), ("-", fc.removed)):
            sample = text.sample(sign, items, detail, False)
            out += [f"{sign}       {line.lstrip()[2:]}" for line in sample]
        return out
    lines = text.update_field(fc, change, detail, False)
    if not fc.secret and isinstance(fc.after, Mapping) and fc.before is None:
        return ["+" + line[1:] for line in lines]
    if not fc.secret and isinstance(fc.before, Mapping) and fc.after is None:
        return ["-" + line[1:] for line in lines]
    return ["!" + line[1:] for line in lines]


# --- rendering ----------------------------------------------------------------------------------


def _available(section: _Section) -> int:
    return len(section.items) if section.cap is None else min(len(section.items), section.cap)


def _render_section(section: _Section, n: int) -> list[str]:
    items = section.items[:n]
    left = len(section.items) - n
    more = "more " if n else ""
    noun = section.noun[0] if left == 1 else section.noun[1]
    note = f"... {left:,} {more}{noun} not shown; {_ARTIFACT}."
    if section.kind == "alert":
        out = [section.title, *section.intro]
        if items:
            out += section.header + [line for item in items for line in item]
        if left:
            out += [">", "> " + note]
        return out
    if section.kind == "table":
        rows = [line for item in items for line in item]
        visible = section.visible if section.visible is not None else len(rows)
        out = section.header + rows[:visible]
        if len(rows) > visible:
            out += [
                "",
                f"<details><summary>Show {plural(len(rows) - visible, 'more change')}</summary>",
                "",
                *section.header,
                *rows[visible:],
                "",
                "</details>",
            ]
        if left:
            out += ["", note]
        return out
    out = [section.title, ""]
    if section.kind == "bullets":
        out += [line for item in items for line in item]
    elif items:
        lines: list[str] = []
        for i, item in enumerate(items):
            if i and (len(item) > 1 or len(items[i - 1]) > 1):  # one-line changes stay packed
                lines.append("")
            lines += item
        block = _block(lines, section.lang)
        if section.fold:
            summary = f"<summary>{section.fold}</summary>"
            block = [f"<details>{summary}", "", *block, "", "</details>"]
        out += block
    if left:
        out += ([""] if items else []) + [note]
    return out


def _heading(plan: Plan, links: Links) -> list[str]:
    add, destroy = plan.count("create"), plan.count("delete")
    cp = plan.custom_properties
    change = plan.count("update") + (1 if cp is not None and cp.status == "update" else 0)
    if plan.errors:
        n = len(plan.errors)
        title = (
            f"### Plan refused ({plural(n, 'problem')}): would add {add:,}, change {change:,}, "
            f"destroy {destroy:,}"
        )
    elif plan.has_changes:
        title = f"### Plan: {add:,} to add, {change:,} to change, {destroy:,} to destroy"
    else:
        title = f"### No changes: {_in_sync(plan)}"
    labels = text.governance_counts(plan)
    notified = sum(1 for c in plan.changes if any(text.notifies(c, fc) for fc in c.fields))
    if labels and not plan.errors:
        title += " (" + ", ".join(f"{n:,} {label}" for label, n in labels)
        title += f", {notified:,} who is notified)" if notified else ")"
    out = [title, "", " · ".join(_context(plan, links))]
    if plan.partial:
        scope = [f"--target {t}" for t in plan.targets] + [f"--exclude {t}" for t in plan.excludes]
        shown = ", ".join(code(s) for s in scope[:LIST_CAP])
        if len(scope) > LIST_CAP:
            shown += f" and {len(scope) - LIST_CAP:,} more"
        out += ["", f"**Partial plan** ({shown}): other objects are neither shown nor changed."]
    if not plan.has_changes and not plan.errors and plan.changes:
        by_kind: dict[str, int] = {}
        for c in plan.changes:
            by_kind[c.ref.kind] = by_kind.get(c.ref.kind, 0) + 1
        each = ", ".join(f"{n:,} {code(k, max_chars=40)}" for k, n in by_kind.items())
        out += ["", f"Every declared object matches the live state ({each})."]
    elif plan.has_changes:
        out += ["", f"By kind: {_by_kind(text.shown_changes(plan))}."]
    return out


def _in_sync(plan: Plan) -> str:
    n = sum(1 for c in plan.changes if c.action == "no-op")
    return f"{plural(n, 'object')} in sync"


def _context(plan: Plan, links: Links) -> list[str]:
    parts = [f"Org {code(plan.org)}", f"directory {code(plan.dir)}"]
    if plan.api == "sandbox" or plan.api.startswith("sandbox:"):
        parts.append("sandbox: nothing reaches Infracost")
    elif plan.snapshot is not None or plan.api.startswith("snapshot:"):
        snap = plan.snapshot or {}
        source = "live snapshot"
        if snap.get("ref"):
            source += f" from {code(snap['ref'], max_chars=60)}"
        if snap.get("commit"):
            sha = snap["commit"]
            source += f" @ {_link(code(_short(sha)), links.commit_url(sha))}"
        if not snap.get("ref") and not snap.get("commit"):
            source += f" {code(plan.api.removeprefix('snapshot:'))}"
        age = _age(snap.get("takenAt", ""), links.now)
        parts.append(f"{source}, {age}" if age else source)
    else:
        parts.append(f"live API {code(plan.api)}")
    if links.commit:
        sha = links.commit
        parts.append(f"planned at {_link(code(_short(sha)), links.commit_url(sha))}")
    run = links.run_url()
    if run:
        parts += [_link("workflow run", run), _link("plan artifact", f"{run}#artifacts")]
    return parts


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
        what.append(f"the diff of {dropped['change']:,} of {plural(changes, 'change')} not shown")
    if what or dropped["other"]:
        reasons = f" ({'; '.join(what)})" if what else ""
        out += ["", f"_Trimmed to stay under GitHub's comment size limit{reasons}; {_ARTIFACT}._"]
    return "\n".join(out)


def render(
    plan: Plan,
    *,
    commit: str | None = None,
    limit: int = 65_536,
    links: Links | None = None,
) -> str:
    """The PR comment, strictly shorter than ``limit`` characters, marker first."""
    links = links or Links()
    if commit and not links.commit:
        links = Links(links.server, links.repository, links.run_id, commit, links.now)
    head = [marker(plan.dir, plan.org), *_heading(plan, links)]
    if limit <= len(head[0]) + 1:
        raise ValueError(f"a comment limit of {limit:,} characters cannot hold the marker")
    n_changes = len(text.shown_changes(plan))
    memo: dict[Any, Any] = {}

    def build(full: int | None, cap: int | None, keep: int | None = None) -> tuple[str, int]:
        sections = _sections(plan, links, full, cap, memo)
        trimmed = ""
        if full is not None and full < n_changes:
            trimmed = (
                f"field lines shown for the first {plural(full, 'change')} only"
                if full
                else "field lines left out"
            )
        total = sum(_available(s) for s in sections)
        return _assemble(head, sections, trimmed, keep), total

    for cap in (None, LIST_CAP):
        doc, _ = build(None, cap)
        if len(doc) < limit:
            return doc
    lo, hi = 0, n_changes  # the most changes that keep their field lines
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(build(mid, LIST_CAP)[0]) < limit:
            lo = mid
        else:
            hi = mid - 1
    doc, total = build(lo, LIST_CAP)
    if len(doc) < limit:
        return doc
    return _fit(build, lo, total, limit, plan)


def _fit(
    build: Callable[[int | None, int | None, int | None], tuple[str, int]],
    full: int,
    total: int,
    limit: int,
    plan: Plan,
) -> str:
    """The largest number of entries that fits, in priority order."""
    best, _ = build(full, LIST_CAP, 0)
    if len(best) >= limit:
        return _minimal(plan, limit)
    lo, hi = 0, total
    while lo < hi:
        mid = (lo + hi + 1) // 2
        doc, _ = build(full, LIST_CAP, mid)
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

"""The terminal plan, Terraform-like: ``+ create``, ``~ update``, ``- delete``.

Layout only: the Plan has decided everything. Every name, value and message comes from users or
the API, so control and invisible characters are shown escaped (``\\n``, ``\\u202e``) and never
reach the terminal. Sets are summarised (``+3 -1 (4,981 unchanged)``) with the added and removed
values listed up to a cap, never the unchanged ones. The layout helpers here are shared with the
markdown renderer, which puts the same lines inside code blocks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.model import (
    Change,
    CustomPropertiesChange,
    FieldChange,
    Governance,
    Plan,
    Unmanaged,
)
from reconciler.render import escape
from reconciler.render.escape import clean as clean  # re-exported: renderers import it here
from reconciler.render.escape import quote as quote

GOVERNANCE_ORDER: tuple[Governance, ...] = (
    "tightening",
    "mixed",
    "unknown",
    "loosening",
    "neutral",
)
SYMBOLS = {"create": "+", "update": "~", "delete": "-"}

_GREEN, _YELLOW, _RED, _BOLD, _RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[1m", "\x1b[0m"
_COLORS = {"+": _GREEN, "~": _YELLOW, "-": _RED}


@dataclass(frozen=True)
class Detail:
    """How much to show: values per set, field lines or not, longest user string."""

    value_cap: int = 10
    fields: bool = True
    max_chars: int | None = None  # None: strings in full


# --- strings -------------------------------------------------------------------------------


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


# --- values --------------------------------------------------------------------------------


def value(v: Any, detail: Detail) -> str:
    """A scalar as JSON, a list as a capped sample, a tag rule or mapping in short form."""
    if isinstance(v, str):
        return quote(v, detail.max_chars)
    if v is None or isinstance(v, bool | int | float):
        return json.dumps(v)
    if isinstance(v, list | tuple | set | frozenset):
        return values(sorted(v, key=str) if isinstance(v, set | frozenset) else list(v), detail)
    if isinstance(v, Mapping):
        if _is_tag(v):
            return "{" + _tag(v, detail) + "}"
        inner = ", ".join(f"{clean(k, detail.max_chars)}: {value(x, detail)}" for k, x in v.items())
        return "{" + inner + "}"
    return clean(repr(v), detail.max_chars)


HANDFUL = 3  # values left over that are shown rather than counted ("and 2 more")


def first(items: Sequence[Any], flagged: Sequence[Any]) -> tuple[Any, ...]:
    """``items`` with those in ``flagged`` (values a plan's hygiene findings are about) first,
    so that a cap never hides them."""
    if not flagged:
        return tuple(items)
    marked = set(flagged)
    return tuple(x for x in items if x in marked) + tuple(x for x in items if x not in marked)


def values(items: Sequence[Any], detail: Detail) -> str:
    """``["a", "b"]`` up to the cap, else ``[4,981 values: "a", ... and 4,971 more]``."""
    n, cap = len(items), detail.value_cap
    if n == 0:
        return "[]"
    if n <= cap + HANDFUL and cap > 0:
        return "[" + ", ".join(value(x, detail) for x in items) + "]"
    if cap <= 0:
        return f"[{plural(n, 'value')}]"
    sample = ", ".join(value(x, detail) for x in items[:cap])
    return f"[{plural(n, 'value')}: {sample}, ... and {n - cap:,} more]"


def _is_tag(v: Mapping[str, Any]) -> bool:
    return "key" in v and "valueType" in v


def _tag(tag: Mapping[str, Any], detail: Detail) -> str:
    """A whole tag rule: key, valueType, mandatory, allowed values (counted, sampled)."""
    parts = [
        f"key {value(tag.get('key'), detail)}",
        f"valueType {value(tag.get('valueType'), detail)}",
    ]
    parts.append(f"mandatory {value(tag.get('mandatory'), detail)}")
    if tag.get("allowedRegex"):
        parts.append(f"allowedRegex {value(tag['allowedRegex'], detail)}")
    allowed = tag.get("allowedValues") or []
    if allowed or tag.get("valueType") == "LIST":  # an empty list matters only to a LIST tag
        parts.append(f"allowedValues {values(list(allowed), detail)}")
    return ", ".join(parts)


def _leaves(v: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, x in v.items():
        if isinstance(x, Mapping) and x:
            out.extend(_leaves(x, f"{prefix}.{k}"))
        else:
            out.append((f"{prefix}.{k}", x))
    return out


def _secret(v: Any, change: Change, path: str) -> str:
    if v is None:
        sent = (change.send or {}).get(path)
        if isinstance(sent, Mapping) and sent.get("fromEnv"):
            if sent["fromEnv"] in change.unresolved:
                return f"unknown ({clean(sent['fromEnv'])} not set)"
            return f"fromEnv {clean(sent['fromEnv'])} (value not available here)"
        return "unknown"
    if v == "":
        return '""'
    return clean(v)


# --- one change -----------------------------------------------------------------------------


def ref_text(kind: str, name: str, id_: str | None, detail: Detail) -> str:
    out = f"{clean(kind, detail.max_chars)} {quote(name, detail.max_chars)}"
    if id_:
        out += f" (id {clean(id_, detail.max_chars)})"
    return out


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def change_lines(
    change: Change, detail: Detail, *, color: bool = False, flagged: Sequence[Any] = ()
) -> list[str]:
    """The change's header, then (with ``detail.fields``) one or more lines per field.

    Lines are not indented: the header starts with its symbol; fields are indented by 4, set
    values by 8.
    """
    symbol = SYMBOLS[change.action]
    head = _paint(f"{symbol} {change.action}", _COLORS[symbol], color)
    ref = change.ref
    line = f"{head} {ref_text(ref.kind, ref.name, ref.id, detail)} [{label(change)}]"
    if change.reason:
        line += f"  # {clean(change.reason, detail.max_chars)}"
    lines = [line]
    if change.unresolved:
        names = ", ".join(clean(n, detail.max_chars) for n in change.unresolved)
        lines.append(f"    ! needs {names}, not set here: apply will fail this change")
    if not detail.fields:
        return lines
    for fc in change.fields:
        if fc.is_set and flagged:
            fc = replace(fc, added=first(fc.added, flagged))
        if change.action == "create":
            lines.extend(create_field(fc, change, detail))
        else:
            lines.extend(update_field(fc, change, detail, color))
    return lines


def create_field(fc: FieldChange, change: Change, detail: Detail) -> list[str]:
    path = clean(fc.path, detail.max_chars)
    if fc.secret:
        return [f"    {path}: {_secret(fc.after, change, fc.path)}"]
    if fc.is_set:
        return [f"    {path}: {values(fc.added, detail)}"]
    after = fc.after
    if not isinstance(after, Mapping) or not after:
        return [f"    {path}: {value(after, detail)}"]
    if all(isinstance(v, Mapping) and v.get("key") == k for k, v in after.items()):
        return [  # keyed list (tags): one line per entry
            f"    {path}[{clean(k, detail.max_chars)}]: {_tag(v, detail)}" for k, v in after.items()
        ]
    shown = [(p, v) for p, v in _leaves(after, fc.path) if v != []]
    if not shown:
        return [f"    {path}: (all empty)"]
    return [f"    {clean(p, detail.max_chars)}: {value(v, detail)}" for p, v in shown]


def update_field(fc: FieldChange, change: Change, detail: Detail, color: bool) -> list[str]:
    path = clean(fc.path, detail.max_chars)
    label = "" if fc.governance == "neutral" else f"  [{fc.governance}]"
    if notifies(change, fc):
        label += "  [who is notified]"
    if fc.secret:
        before, after = _secret(fc.before, change, fc.path), _secret(fc.after, change, fc.path)
        return [f"    {path}: {before} -> {after}{label}"]
    if fc.is_set:
        head = f"    {path}: +{len(fc.added):,} -{len(fc.removed):,} ({fc.unchanged:,} unchanged)"
        lines = [head + label]
        lines += sample("+", fc.added, detail, color)
        lines += sample("-", fc.removed, detail, color)
        return lines
    if isinstance(fc.after, Mapping) and fc.before is None:
        return [f"    {path}: added {value(fc.after, detail)}{label}"]
    if isinstance(fc.before, Mapping) and fc.after is None:
        return [f"    {path}: removed {value(fc.before, detail)}{label}"]
    return [f"    {path}: {value(fc.before, detail)} -> {value(fc.after, detail)}{label}"]


def sample(sign: str, items: Sequence[str], detail: Detail, color: bool) -> list[str]:
    mark = _paint(sign, _COLORS[sign], color)
    cap = max(detail.value_cap, 0)
    if cap and len(items) <= cap + HANDFUL:
        cap = len(items)
    lines = [f"        {mark} {value(v, detail)}" for v in items[:cap]]
    if len(items) > cap and cap > 0:
        lines.append(f"        {mark} ... and {len(items) - cap:,} more")
    return lines


# --- the rest of the plan ---------------------------------------------------------------------


def api_text(plan: Plan) -> str:
    if plan.api == "sandbox" or plan.api.startswith("sandbox:"):
        return "sandbox: nothing reaches Infracost"
    return clean(plan.api)


def header(plan: Plan) -> str:
    snap = plan.snapshot
    if snap is None:
        return f"org {clean(plan.org)} @ {api_text(plan)}"
    source = f"live snapshot {clean(snap.get('file', ''))}"
    if snap.get("ref"):
        source += f" from {clean(snap['ref'])}"
    if snap.get("commit"):
        source += f" @ {clean(snap['commit'][:7])}"
    if snap.get("takenAt"):
        source += f", taken {clean(snap['takenAt'])}"
    return f"org {clean(plan.org)} @ {source}"


def partial_text(plan: Plan) -> str:
    scope = [f"--target {clean(t)}" for t in plan.targets]
    scope += [f"--exclude {clean(t)}" for t in plan.excludes]
    return "Partial plan (" + ", ".join(scope) + "): other objects are neither shown nor changed."


def custom_properties_lines(
    cp: CustomPropertiesChange, detail: Detail, *, color: bool = False
) -> list[str]:
    """Rows identified by their first column only: other cells may be personal data."""
    if cp.status == "no-op":
        return []
    from reconciler import kinds  # here, not at the top: show need not load the kinds

    table = kinds.TABLE
    rows = plural(cp.rows, "row")
    if cp.status == "sync":
        head = _paint("~ sync", _YELLOW, color)
        return [
            f"{head} {table.name} (unverifiable: no baseline to compare with): "
            f"apply uploads all {rows}; not counted as a change"
        ]
    head = _paint("~ update", _YELLOW, color)
    base = clean(cp.baseline, detail.max_chars)
    counts = f"+{len(cp.added):,} ~{len(cp.changed):,} -{len(cp.removed):,}"
    lines = [f"{head} {table.name}: {counts} rows against {base} ({rows} in the file)"]
    if detail.fields:
        for sign, items in (("+", cp.added), ("~", cp.changed), ("-", cp.removed)):
            lines += sample(sign, items, detail, color)
    return lines


UNMANAGED_HINT = (
    "To delete one: a document with its kind, its name and absent: true; every one of a kind "
    "the files declare: --prune (or prune: in reconciler.yaml)."
)


def unmanaged_line(u: Unmanaged, detail: Detail) -> str:
    line = f"? {ref_text(u.ref.kind, u.ref.name, u.ref.id, detail)}"
    if u.hint:
        line += f": {clean(u.hint, detail.max_chars)}"
    return line


def counts(plan: Plan) -> str:
    """``Plan: 1 to add, 2 to change, 0 to destroy.`` or ``No changes.``; for a refused plan
    ``Plan refused (2 problems): would add 1, change 0, destroy 3.``"""
    cp = plan.custom_properties
    change = plan.count("update") + (1 if cp is not None and cp.status == "update" else 0)
    add, destroy = plan.count("create"), plan.count("delete")
    if plan.errors:
        return (
            f"Plan refused ({plural(len(plan.errors), 'problem')}): would add {add:,}, "
            f"change {change:,}, destroy {destroy:,}."
        )
    if not plan.has_changes:
        return "No changes."
    return f"Plan: {add} to add, {change} to change, {destroy} to destroy."


def notifies(change: Change, fc: FieldChange) -> bool:
    """Whether a field change changes who gets notified (a kind's ``notification_fields``):
    shown as such, whatever its governance label."""
    if change.action != "update":
        return False
    from reconciler import kinds  # here: show need not load the kinds unless it draws a plan

    kind = kinds.OBJECT_KINDS.get(change.ref.kind)
    top = fc.path.split(".")[0].split("[")[0]
    return kind is not None and top in kind.notification_fields


def label(change: Change) -> str:
    """The change's governance label, and ``who is notified`` when it changes that too."""
    if any(notifies(change, fc) for fc in change.fields):
        return f"{change.governance}, who is notified"
    return change.governance


def governance_counts(plan: Plan) -> list[tuple[Governance, int]]:
    """Non-zero counts of the changes' labels, tightening first."""
    seen = [c.governance for c in plan.changes if c.action != "no-op"]
    return [(g, seen.count(g)) for g in GOVERNANCE_ORDER if g in seen]


def shown_changes(plan: Plan) -> list[Change]:
    """Creates and updates in plan order, then deletes apart; no-ops are not shown."""
    writes = [c for c in plan.changes if c.action in ("create", "update")]
    return writes + [c for c in plan.changes if c.action == "delete"]


# --- the whole plan ---------------------------------------------------------------------------


def render(plan: Plan, *, color: bool = False, value_cap: int = 10) -> str:
    detail = Detail(value_cap=value_cap)
    out = [header(plan)]
    if plan.partial:
        out.append(partial_text(plan))
    flagged: dict[tuple[str, str], tuple[str, ...]] = {}
    for note in plan.hygiene_notes:
        key = (note.kind, note.name)
        flagged[key] = flagged.get(key, ()) + note.values
    for change in shown_changes(plan):
        out.append("")
        lines = change_lines(
            change, detail, color=color, flagged=flagged.get((change.ref.kind, change.ref.name), ())
        )
        out += ["  " + line for line in lines]
    if plan.custom_properties is not None:
        cp_lines = custom_properties_lines(plan.custom_properties, detail, color=color)
        if cp_lines:
            out.append("")
            out += ["  " + line for line in cp_lines]
    if plan.unmanaged:
        out += [
            "",
            f"Unmanaged ({len(plan.unmanaged):,}): live objects not in the files, left alone:",
        ]
        out += ["  " + unmanaged_line(u, detail) for u in plan.unmanaged]
        out.append(UNMANAGED_HINT)
    if plan.warnings:
        out += ["", f"Warnings ({len(plan.warnings):,}):"]
        out += [f"  ! {clean(w)}" for w in plan.warnings]
    if plan.errors:
        out += ["", f"Problems ({len(plan.errors):,}), each starting with its fix:"]
        out += [f"  x {clean(e)}" for e in plan.errors]
    # one verdict, last: the refusal with what the plan would have done, never "No changes."
    out += ["", _paint(counts(plan), _BOLD + (_RED if plan.errors else ""), color)]
    return escape.lines("\n".join(out))

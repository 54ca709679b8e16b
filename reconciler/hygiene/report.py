"""Tag-value hygiene as located problems, and the findings that a plan introduces.

``validate`` collects every LIST tag's values (``ValueList``) and every tag key (``TagKey``) of
the directory; ``problems`` checks them with ``hygiene`` and locates each finding: the YAML line
of an inline value, the line of a CSV row or TXT line (computed only for the values a finding
names). Findings are warnings (errors with ``--strict``) whose message starts with ``hygiene:``
and whose ``rule`` is ``hygiene/<rule>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.hygiene import variants as hygiene
from reconciler.model import Change, HygieneSubject, Location, Problem

LISTED = 20  # findings shown per list and rule; one more line counts the rest
PREFIX = "hygiene: "
_MORE = {
    "variant": "are variants of other values (case, separators, spaces or look-alikes)",
    "near-duplicate": "are one edit away from other values",
    "characters": "have stray spaces, invisible or look-alike characters",
    "style": "break the house style",
    "shape": "are one step from the shape of the list's IDs",
}


@dataclass(frozen=True)
class ValueList:
    """The allowed values of one LIST tag, and how to locate each of them."""

    kind: str
    name: str
    key: str
    values: Sequence[str]
    field: str  # "tags[app_id].allowedValues" or "tags[app_id].allowedValuesFrom"
    locate: Callable[[int], Location]  # called only for the values a finding names
    # The values file and column the values come from (None: inline), so that fix-values finds
    # the tag key whose settings apply to a file.
    source: tuple[Path, str | None] | None = None


def readers(lists: Sequence[ValueList], path: Path, column: str | None) -> list[ValueList]:
    """The value lists read from ``column`` of the values file ``path``: whose hygiene settings
    (those of their tag key) apply to the file."""
    target = path.resolve()
    return [
        lst
        for lst in lists
        if lst.source is not None and lst.source[0].resolve() == target and lst.source[1] == column
    ]


@dataclass(frozen=True)
class TagKey:
    kind: str
    name: str
    key: str
    location: Location
    field: str  # "tags[CostCenter].key"


def problems(
    lists: Sequence[ValueList], keys: Sequence[TagKey], config: Mapping[str, Any]
) -> list[Problem]:
    """Every finding of every list and of the tag keys, uncapped (see ``shown``)."""
    styles = hygiene.styles(config)
    out: list[Problem] = []
    for lst in lists:
        style = styles.get(lst.key, hygiene.Style())
        out += _list_problems(lst, style)
    out += _key_problems(keys, config)
    return out


def _list_problems(lst: ValueList, style: hygiene.Style) -> list[Problem]:
    findings = hygiene.check(lst.values, style)
    if not findings:
        return []
    locate = cache(lst.locate)
    values = lst.values
    out = []
    for f in findings:
        involved = (values[f.index],) if f.other is None else (values[f.index], values[f.other])
        text = hygiene.message(f, values, lambda i: f"line {locate(i).line}")
        out.append(
            Problem(
                "warning",
                locate(f.index),
                PREFIX + text,
                lst.kind,
                lst.name,
                lst.field,
                rule=f"hygiene/{f.rule}",
                hygiene=HygieneSubject(((lst.kind, lst.name, lst.key),), involved, f.suggestion),
            )
        )
    return out


def _key_problems(keys: Sequence[TagKey], config: Mapping[str, Any]) -> list[Problem]:
    """The same folding across the tag keys of every policy: CostCenter and cost_center."""
    if not keys:
        return []
    counts = Counter(k.key for k in keys)
    # Most used spelling first: ties in the choice of the canonical key go to it.
    distinct = sorted(counts, key=lambda k: -counts[k])
    first: dict[str, TagKey] = {}
    for k in keys:
        first.setdefault(k.key, k)
    declared = hygiene.pairs(
        [key, other]
        for key, settings in config.items()
        if isinstance(settings, Mapping)
        for other in settings.get("distinctKeys", ())
    )
    out = []
    for f in hygiene.check(distinct, hygiene.Style(distinct=declared)):
        other = first[distinct[f.other]] if f.other is not None else None
        for k in keys:
            if k.key == distinct[f.index]:
                out.append(_key_problem(k, other, f, distinct))
    return out


def _key_problem(
    k: TagKey, other: TagKey | None, f: hygiene.Finding, distinct: Sequence[str]
) -> Problem:
    def where(i: int) -> str:
        if other is None or i == f.index:
            return f"line {k.location.line}"
        return f'{other.kind} "{other.name}", {other.location.file.name}:{other.location.line}'

    places = [(k.kind, k.name, k.key)]
    if other is not None:
        places.append((other.kind, other.name, other.key))
    return Problem(
        "warning",
        k.location,
        PREFIX + "tag key " + hygiene.message(f, distinct, where),
        k.kind,
        k.name,
        k.field,
        rule=f"hygiene/key-{f.rule}",
        hygiene=HygieneSubject(tuple(places), (), f.suggestion),
    )


def shown(found: Sequence[Problem]) -> list[Problem]:
    """At most ``LISTED`` findings per list and rule, and one line that counts the others."""
    groups: dict[tuple[str | None, str | None, str, str], list[Problem]] = {}
    for p in found:
        groups.setdefault((p.kind, p.name, p.field, p.rule), []).append(p)
    out = []
    for (_, _, _, rule), group in groups.items():
        out += group[:LISTED]
        rest = group[LISTED:]
        if rest:
            what = _MORE.get(rule.removeprefix("hygiene/"), "are flagged")
            first = rest[0]
            out.append(
                Problem(
                    first.severity,
                    first.location,
                    f"{PREFIX}{len(rest):,} more values {what} (not listed; "
                    "reconciler fix-values rewrites a values file)",
                    first.kind,
                    first.name,
                    first.field,
                    rule=rule,
                )
            )
    return out


# --- plans -----------------------------------------------------------------------------------


def introduced(found: Sequence[Problem], changes: Sequence[Change]) -> list[Problem]:
    """The findings about values (or tag keys) that these changes add to the live state."""
    by_ref = {(c.ref.kind, c.ref.name): c for c in changes}
    return [p for p in found if p.hygiene is not None and _adds(p.hygiene, by_ref)]


def _adds(subject: HygieneSubject, by_ref: Mapping[tuple[str, str], Change]) -> bool:
    for kind, name, key in subject.places:
        change = by_ref.get((kind, name))
        if change is None or change.action in ("delete", "no-op"):
            continue
        if change.action == "create":
            return True
        for f in change.fields:
            if f.path == f"tags[{key}]" and f.before is None:
                return True  # a new tag: all its values are new
            if f.path == f"tags[{key}].allowedValues" and set(subject.values) & set(f.added):
                return True
    return False

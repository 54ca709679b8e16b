"""Desired resources + live objects -> Plan. Pure: no I/O, no clock, literal data in and out.

Matching: an ``id:`` pin claims its live object (a different live name is a rename); other
documents match live objects of the same kind by name. Two live objects with one name make that
document ambiguous: the plan says so and asks for a pin. Live objects nothing matches are
unmanaged; ``prune`` turns them into deletions, under the guards. Set-like lists are compared
as sets (a set difference on 100,000 values takes milliseconds).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import governance
from reconciler.kinds import KINDS, Kind
from reconciler.model import (
    Change,
    CustomPropertiesChange,
    FieldChange,
    LiveObject,
    Plan,
    Ref,
    Resource,
    SecretRef,
    Unmanaged,
)
from reconciler.normalize import (
    Normalized,
    Unknown,
    equal,
    normalize_desired,
    normalize_live,
    plain,
    state_fingerprint,
)


@dataclass(frozen=True)
class Target:
    """``Kind/Name`` (split at the first ``/``, exact) or ``Kind/id:UUID``."""

    kind: str
    name: str | None = None
    id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        kind, sep, rest = text.partition("/")
        if not sep or not rest or kind not in KINDS:
            raise ValueError(
                f'"{text}" is not Kind/Name or Kind/id:UUID (kinds: {", ".join(KINDS)})'
            )
        if rest.startswith("id:"):
            return cls(kind, id=rest[3:].lower())
        return cls(kind, name=rest)

    def matches(self, ref: Ref) -> bool:
        if self.kind != ref.kind:
            return False
        if self.id is not None:
            return ref.id is not None and ref.id.lower() == self.id
        return ref.name == self.name


@dataclass(frozen=True)
class Options:
    prune: bool | tuple[str, ...] = False
    prune_limit: int = 5
    allow_mass_delete: bool = False
    targets: tuple[Target, ...] = ()
    excludes: tuple[Target, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def selected(self, ref: Ref) -> bool:
        if self.targets and not any(t.matches(ref) for t in self.targets):
            return False
        return not any(t.matches(ref) for t in self.excludes)


def build_plan(
    desired: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    options: Options,
    *,
    org: str,
    api: str,
    directory: str,
    custom_properties: CustomPropertiesChange | None = None,
) -> Plan:
    changes: list[Change] = []
    unmanaged: list[Unmanaged] = []
    warnings: list[str] = []
    errors: list[str] = []
    for kind in KINDS.values():
        if not kind.named:
            continue
        docs = [r for r in desired if r.kind == kind.name]
        objects = list(live.get(kind.name, ()))
        _plan_kind(kind, docs, objects, options, changes, unmanaged, warnings, errors)
    _guards(desired, live, options, changes, errors)
    _unmatched_targets(desired, live, options, errors)
    return Plan(
        org=org,
        api=api,
        dir=directory,
        changes=tuple(changes),
        unmanaged=tuple(unmanaged),
        warnings=tuple(warnings),
        errors=tuple(errors),
        partial=bool(options.targets or options.excludes),
        targets=tuple(_show_target(t) for t in options.targets),
        excludes=tuple(_show_target(t) for t in options.excludes),
        allow_mass_delete=options.allow_mass_delete,
        custom_properties=custom_properties,
    )


def _unmatched_targets(
    desired: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    options: Options,
    errors: list[str],
) -> None:
    """A --target or --exclude that names nothing is a typo, not a quiet "No changes."."""
    refs = [Ref(r.kind, r.name, r.id) for r in desired]
    refs += [
        Ref(kind, str(o.attributes.get("name", "")), o.id)
        for kind, objects in live.items()
        for o in objects
    ]
    for flag, targets in (("--target", options.targets), ("--exclude", options.excludes)):
        for t in targets:
            if t.kind == "CustomProperties":
                continue  # it names the upload, which has no name
            if not any(t.matches(ref) for ref in refs):
                errors.append(
                    f"{flag} {_show_target(t)} matches no document and no live object "
                    "(names are exact and case-sensitive)"
                )


def _show_target(t: Target) -> str:
    return f"{t.kind}/id:{t.id}" if t.id is not None else f"{t.kind}/{t.name}"


def _prunes(kind: Kind, docs: Sequence[Resource], prune: bool | tuple[str, ...]) -> bool:
    if isinstance(prune, tuple):
        return kind.name in prune
    return prune and bool(docs)


def _plan_kind(
    kind: Kind,
    docs: Sequence[Resource],
    objects: Sequence[LiveObject],
    options: Options,
    changes: list[Change],
    unmanaged: list[Unmanaged],
    warnings: list[str],
    errors: list[str],
) -> None:
    by_id = {o.id.lower(): o for o in objects}
    by_name: dict[str, list[LiveObject]] = defaultdict(list)
    for o in objects:
        by_name[str(o.attributes.get("name", ""))].append(o)
    claimed: set[str] = {r.id.lower() for r in docs if r.id}
    matched: set[str] = set()
    creates: list[tuple[Resource, Normalized]] = []

    for doc in docs:
        ref = Ref(kind.name, doc.name, doc.id)
        live_obj: LiveObject | None = None
        if doc.id:
            live_obj = by_id.get(doc.id.lower())
            if live_obj is None:
                if options.selected(ref):
                    errors.append(f"{ref}: id: {doc.id} pins an object that does not exist")
                continue
        else:
            candidates = [o for o in by_name.get(doc.name, ()) if o.id.lower() not in claimed]
            if len(candidates) > 1:
                matched.update(o.id.lower() for o in candidates)
                if options.selected(ref):
                    ids = ", ".join(o.id for o in candidates)
                    errors.append(
                        f"{ref}: {len(candidates)} live objects have this name (ids {ids}); "
                        "add id: to the document to choose one"
                    )
                continue
            live_obj = candidates[0] if candidates else None
        if live_obj is not None:
            matched.add(live_obj.id.lower())
            ref = Ref(kind.name, doc.name, live_obj.id)
        if not options.selected(ref):
            continue
        if doc.absent:
            if live_obj is None:
                changes.append(
                    Change("no-op", ref, reason="absent: already gone", source=doc.location)
                )
            else:
                live_n = normalize_live(kind, live_obj.attributes)
                live_name = str(live_obj.attributes.get("name", doc.name))
                changes.append(
                    Change(
                        "delete",
                        Ref(kind.name, live_name, live_obj.id),
                        governance="loosening",
                        live_fingerprint=state_fingerprint(live_n.values),
                        reason="absent: true",
                        source=doc.location,
                    )
                )
            continue
        want = normalize_desired(kind, doc.attributes, options.env)
        for attr, why in want.invalid.items():
            errors.append(f"{ref}: {attr}: {why}")
        if live_obj is None:
            creates.append((doc, want))
            changes.append(
                Change(
                    "create",
                    ref,
                    fields=_create_fields(want),
                    governance="tightening",
                    send=_send(doc.attributes, want, list(doc.attributes), {}),
                    unresolved=tuple(
                        want.unknown and sorted(want.secrets[a] for a in want.unknown)
                    ),
                    source=doc.location,
                )
            )
            continue
        have = normalize_live(kind, live_obj.attributes)
        for attr, why in [*want.unknown.items(), *have.unknown.items()]:
            warnings.append(f"{ref}: {attr} is unknown ({why}); it is left as it is")
        for path, extra in sorted(have.extras.items()):
            where = _extra_path(path)
            warnings.append(
                f"{ref}: {where} has attributes reconciler does not manage "
                f"({', '.join(sorted(extra))}); they are kept"
            )
        fields = _field_changes(kind, have.values, want.values, rename=bool(doc.id))
        if not fields:
            changes.append(
                Change(
                    "no-op",
                    ref,
                    live_fingerprint=state_fingerprint(have.values),
                    source=doc.location,
                )
            )
            continue
        top = sorted({f.path.split(".")[0].split("[")[0] for f in fields})
        changes.append(
            Change(
                "update",
                ref,
                fields=tuple(fields),
                governance=governance.combine(f.governance for f in fields),
                send=_send(doc.attributes, want, top, have.extras),
                live_fingerprint=state_fingerprint(have.values),
                reason=f'renamed from "{live_obj.attributes.get("name")}"' if "name" in top else "",
                source=doc.location,
            )
        )

    prune = _prunes(kind, docs, options.prune)
    for o in objects:
        if o.id.lower() in matched or o.id.lower() in claimed:
            continue
        name = str(o.attributes.get("name", ""))
        ref = Ref(kind.name, name, o.id)
        if not options.selected(ref):
            continue
        have = normalize_live(kind, o.attributes)
        renamed = _renamed_to(have, creates)
        hint = (
            f'possibly renamed to "{renamed.name}"; add id: {o.id} to rename it in place'
            if renamed
            else ""
        )
        if prune:
            changes.append(
                Change(
                    "delete",
                    ref,
                    governance="loosening",
                    live_fingerprint=state_fingerprint(have.values),
                    reason="prune: not declared" + (f"; {hint}" if hint else ""),
                )
            )
            if renamed is not None and renamed.protect:
                errors.append(
                    f'{ref}: looks renamed to "{renamed.name}", which has protect: true; '
                    f"add id: {o.id} to that document to rename it in place instead of "
                    "deleting it"
                )
        else:
            unmanaged.append(Unmanaged(ref, hint))


def _renamed_to(
    have: Normalized, creates: Iterable[tuple[Resource, Normalized]]
) -> Resource | None:
    """The created document whose attributes, the name aside, equal this live object's."""
    rest = {k: v for k, v in have.values.items() if k != "name"}
    for doc, want in creates:
        if equal(rest, {k: v for k, v in want.values.items() if k != "name"}):
            return doc
    return None


def _extra_path(path: tuple[str, ...]) -> str:
    if len(path) == 3 and path[1] == "[]":
        return f"{path[0]}[{path[2]}]"
    return ".".join(path)


# --- field changes ---------------------------------------------------------------------------


def _create_fields(want: Normalized) -> tuple[FieldChange, ...]:
    out = []
    for attr, value in want.values.items():
        if isinstance(value, Unknown):
            out.append(FieldChange(attr, after=None, secret=True, governance="neutral"))
        elif isinstance(value, frozenset):
            out.append(
                FieldChange(attr, added=tuple(sorted(value)), is_set=True, governance="neutral")
            )
        else:
            out.append(
                FieldChange(
                    attr, after=plain(value), secret=attr in want.secrets, governance="neutral"
                )
            )
    return tuple(out)


def _field_changes(
    kind: Kind, have: Mapping[str, Any], want: Mapping[str, Any], *, rename: bool
) -> list[FieldChange]:
    out: list[FieldChange] = []
    for attr, after in want.items():
        if attr == "name" and not rename:
            continue  # matched by name: equal by construction
        before = have.get(attr)
        _diff(kind, attr, (attr,), before, after, out, have, want)
    return out


def _diff(
    kind: Kind,
    label: str,
    path: tuple[str, ...],
    before: Any,
    after: Any,
    out: list[FieldChange],
    have: Mapping[str, Any],
    want: Mapping[str, Any],
) -> None:
    if equal(before, after):
        return
    secret = path[0] in kind.secret_fields
    if isinstance(before, frozenset) and isinstance(after, frozenset):
        added = tuple(sorted(after - before))
        removed = tuple(sorted(before - after))
        fc = FieldChange(
            label, added=added, removed=removed, unchanged=len(after & before), is_set=True
        )
    elif isinstance(before, dict) and isinstance(after, dict):
        keyed = len(path) == 1 and any(path[0] == name for name, _ in kind.keyed_lists)
        for key in sorted(before.keys() | after.keys()):
            sub_label = f"{label}[{key}]" if keyed else f"{label}.{key}"
            sub_path = (*path, "[]", key) if keyed else (*path, key)
            if key not in after:
                fc = FieldChange(sub_label, before=plain(before[key]), after=None)
            elif key not in before:
                fc = FieldChange(sub_label, before=None, after=plain(after[key]))
            else:
                _diff(kind, sub_label, sub_path, before[key], after[key], out, have, want)
                continue
            out.append(_label(kind, sub_path, fc, have, want))
        return
    else:
        fc = FieldChange(label, before=plain(before), after=plain(after), secret=secret)
    out.append(_label(kind, path, fc, have, want))


def _label(
    kind: Kind,
    path: tuple[str, ...],
    fc: FieldChange,
    have: Mapping[str, Any],
    want: Mapping[str, Any],
) -> FieldChange:
    return replace(fc, governance=governance.classify(kind.name, path, fc, have, want))


# --- what apply sends ----------------------------------------------------------------------


def _send(
    attributes: Mapping[str, Any],
    want: Normalized,
    names: Iterable[str],
    extras: Mapping[tuple[str, ...], Mapping[str, Any]],
) -> dict[str, Any]:
    """The API attributes to send, secrets as references, unknown nested keys carried over."""
    out: dict[str, Any] = {}
    for attr in names:
        if attr not in attributes:
            continue
        value = attributes[attr]
        if isinstance(value, SecretRef):
            fp = want.values.get(attr)
            out[attr] = {
                "fromEnv": value.env,
                "default": value.default,
                "fingerprint": None if isinstance(fp, Unknown) else fp,
            }
            continue
        out[attr] = _carry(attr, value, extras)
    return out


def _carry(attr: str, value: Any, extras: Mapping[tuple[str, ...], Mapping[str, Any]]) -> Any:
    if not extras:
        return value
    if attr == "filters" and isinstance(value, dict):
        merged = dict(extras.get(("filters",), {}))
        for sub, spec in value.items():
            kept = dict(extras.get(("filters", sub), {}))
            merged[sub] = {**kept, **spec} if isinstance(spec, dict) else spec
        return merged
    if attr == "tags" and isinstance(value, list):
        return [
            {**extras.get(("tags", "[]", str(t.get("key"))), {}), **t} if isinstance(t, dict) else t
            for t in value
        ]
    return value


# --- guards ------------------------------------------------------------------------------------


def _guards(
    desired: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    options: Options,
    changes: list[Change],
    errors: list[str],
) -> None:
    deletes = [c for c in changes if c.action == "delete"]
    protected = [r for r in desired if r.protect]
    for change in deletes:
        for r in protected:
            same_id = r.id and change.ref.id and r.id.lower() == change.ref.id.lower()
            if r.kind == change.ref.kind and (same_id or r.name == change.ref.name):
                errors.append(f"{change.ref}: protect: true forbids deleting it")
    if options.allow_mass_delete:
        return
    for kind_name, objects in live.items():
        gone = sum(1 for c in deletes if c.ref.kind == kind_name)
        if objects and gone == len(objects):
            errors.append(
                f"the plan deletes every live {kind_name} ({gone}); "
                "pass --allow-mass-delete if that is what you want"
            )
    if len(deletes) > options.prune_limit:
        errors.append(
            f"the plan deletes {len(deletes)} objects, more than pruneLimit "
            f"({options.prune_limit}); pass --allow-mass-delete if that is what you want"
        )

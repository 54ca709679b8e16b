"""One kind's desired documents + live objects -> changes. Pure: no I/O, no clock, literal data.

Matching: an ``id:`` pin claims its live object (a different live name is a rename); other
documents match live objects of the same kind by name. Two live objects with one name make that
document ambiguous: the plan says so and asks for a pin. Live objects nothing matches are
unmanaged, or deletions when the kind is pruned. Set-like lists are compared as sets (a set
difference on 100,000 values takes milliseconds). Unknown keys the API keeps inside nested
objects are carried back into every update (``_carry``), whatever the kind.

A live object with a value reconciler cannot read (``Normalized.unreadable``: odd data the API
holds) is set aside, alone: a warning names its kind, name, id and field; no update is planned
for it (what it holds is unknown, so an update could erase it), prune never deletes it (it is
listed as unmanaged), and ``absent: true`` still deletes it. Every other object is planned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import governance
from reconciler.kinds.base import ObjectKind
from reconciler.model import (
    Change,
    FieldChange,
    LiveObject,
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
    plain_fingerprint,
    set_minus,
    sorted_values,
)


@dataclass
class KindDiff:
    """What comparing one kind found."""

    changes: list[Change] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def diff_kind(
    kind: ObjectKind,
    docs: Sequence[Resource],
    objects: Sequence[LiveObject],
    *,
    selected: Callable[[Ref], bool],
    prune: bool,
    env: Mapping[str, str],
    secrets_available: bool = True,
    keep_live: bool = True,
) -> KindDiff:
    """``keep_live``: updates and deletes keep the live values they were computed from, and
    their digest (what a saved plan's stale check needs); a plan that is only shown skips them."""
    out = KindDiff()
    changes, unmanaged, warnings, errors = out.changes, out.unmanaged, out.warnings, out.errors
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
                if selected(ref):
                    errors.append(
                        f"Correct or remove the id: of {ref}: no live object has id {doc.id}"
                    )
                continue
        else:
            candidates = [o for o in by_name.get(doc.name, ()) if o.id.lower() not in claimed]
            copies = _equal_copies(kind, doc, candidates, env)
            if copies:
                # Several equal copies: concurrent applies racing (each removes the copies
                # that lost: the lowest id wins, as apply decides). Match the winner; the
                # others stay unmanaged, with a hint, until their run removes them.
                live_obj, *others = copies
                for o in others:
                    matched.add(o.id.lower())
                    if selected(Ref(kind.name, doc.name, o.id)):
                        unmanaged.append(
                            Unmanaged(
                                Ref(kind.name, doc.name, o.id),
                                f"an equal copy of {live_obj.id} (the lowest id is kept); "
                                "a concurrent apply removes it, or delete it",
                            )
                        )
                candidates = [live_obj]
            if len(candidates) > 1:
                matched.update(o.id.lower() for o in candidates)
                if selected(ref):
                    ids = ", ".join(o.id for o in candidates)
                    errors.append(
                        f"Add id: to the document of {ref} to choose one: {len(candidates)} "
                        f"live objects have this name (ids {ids})"
                    )
                continue
            live_obj = candidates[0] if candidates else None
        if live_obj is not None:
            matched.add(live_obj.id.lower())
            ref = Ref(kind.name, doc.name, live_obj.id)
        if not selected(ref):
            continue
        if doc.absent:
            if live_obj is None:
                changes.append(
                    Change("no-op", ref, reason="absent: already gone", source=doc.location)
                )
            else:
                live_n = normalize_live(kind, live_obj.attributes)
                live_name = str(live_obj.attributes.get("name", doc.name))
                if live_n.unreadable:
                    warnings.append(_set_aside(ref, live_n, "deleted as absent: true asks"))
                changes.append(
                    Change(
                        "delete",
                        Ref(kind.name, live_name, live_obj.id),
                        governance="loosening",
                        **_live_state(live_n, keep_live),
                        reason="absent: true",
                        source=doc.location,
                    )
                )
            continue
        want = normalize_desired(kind, doc.attributes, env, secrets_available=secrets_available)
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
                    send=_send(kind, doc.attributes, want, list(doc.attributes), {}),
                    unresolved=tuple(
                        want.unknown and sorted(want.secrets[a] for a in want.unknown)
                    ),
                    source=doc.location,
                )
            )
            continue
        have = normalize_live(kind, live_obj.attributes)
        if have.unreadable:
            warnings.append(
                _set_aside(
                    ref,
                    have,
                    "no change is planned for it; correct or delete it in Infracost, then plan "
                    "again",
                )
            )
            continue
        for attr, why in [*want.unknown.items(), *have.unknown.items()]:
            warnings.append(f"{ref}: {attr} is unknown ({why}); it is left as it is")
        for path, extra in sorted(have.extras.items()):
            where = _extra_path(path)
            warnings.append(
                f"{ref}: {where} has attributes reconciler does not manage "
                f"({', '.join(sorted(extra))}); they are kept"
            )
        fields = _field_changes(kind, have.values, want.values, rename=bool(doc.id))
        for attr, env_name in sorted(want.references.items()):
            changed = _reference_change(ref, attr, env_name, have, warnings)
            if changed is not None:
                fields.append(_label(kind, (attr,), changed, have.values, want.values))
        if not fields:  # nothing to write: no stale check needs its digest
            changes.append(Change("no-op", ref, source=doc.location))
            continue
        top = sorted({f.path.split(".")[0].split("[")[0] for f in fields})
        changes.append(
            Change(
                "update",
                ref,
                fields=tuple(fields),
                governance=governance.combine(f.governance for f in fields),
                send=_send(kind, doc.attributes, want, top, have.extras),
                **_live_state(have, keep_live),
                reason=f'renamed from "{live_obj.attributes.get("name")}"' if "name" in top else "",
                source=doc.location,
            )
        )

    for o in objects:
        if o.id.lower() in matched or o.id.lower() in claimed:
            continue
        name = str(o.attributes.get("name", ""))
        ref = Ref(kind.name, name, o.id)
        if not selected(ref):
            continue
        have = normalize_live(kind, o.attributes)
        if have.unreadable:
            what = "not deleted by prune" if prune else "left alone"
            warnings.append(_set_aside(ref, have, what))
            unmanaged.append(Unmanaged(ref, f"cannot be read; {what}"))
            continue
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
                    **_live_state(have, keep_live),
                    reason="prune: not declared" + (f"; {hint}" if hint else ""),
                )
            )
            if renamed is not None and renamed.protect:
                errors.append(
                    f'Add id: {o.id} to the document of "{renamed.name}" to rename {ref} in '
                    f'place: it looks renamed to "{renamed.name}", which has protect: true, '
                    "and is deleted otherwise"
                )
        else:
            unmanaged.append(Unmanaged(ref, hint))
    return out


def _reference_change(
    ref: Ref, attr: str, env_name: str, have: Normalized, warnings: list[str]
) -> FieldChange | None:
    """A secret whose value is not available here: a change only if its reference changed
    (the snapshot records which variable the live value came from); else a warning that says
    the value could not be compared."""
    live_name = have.references.get(attr)
    if live_name is not None and live_name != env_name:
        return FieldChange(
            attr, before=f"fromEnv {live_name}", after=f"fromEnv {env_name}", secret=True
        )
    same = (
        "the reference is unchanged"
        if live_name is not None
        else "the live state does not record which variable it came from"
    )
    warnings.append(
        f"{ref}: {attr} not compared: {env_name} is not available here (a plan against a "
        f"snapshot, or --no-secrets); {same}"
    )
    return None


def _equal_copies(
    kind: ObjectKind, doc: Resource, candidates: Sequence[LiveObject], env: Mapping[str, str]
) -> list[LiveObject]:
    """Two or more live objects with the document's name, all equal to it: lowest id first.
    Empty when they are fewer, or when any differs (then the document is ambiguous)."""
    if len(candidates) < 2 or doc.absent:
        return []
    want = normalize_desired(kind, doc.attributes, env).values
    for o in candidates:
        have = normalize_live(kind, o.attributes)
        if have.unreadable or not all(equal(have.values.get(k), v) for k, v in want.items()):
            return []
    return sorted(candidates, key=lambda o: o.id.lower())


def _set_aside(ref: Ref, have: Normalized, what: str) -> str:
    """The warning for a live object with values that cannot be read: kind, name, id, fields."""
    fields = "; ".join(f"{label}: {why}" for label, why in sorted(have.unreadable.items()))
    return f"{ref} (id {ref.id}): cannot be read ({fields}); {what}"


def _live_state(have: Normalized, keep: bool) -> dict[str, Any]:
    """What an update or delete keeps of the live object: its values as planned (so a stale
    plan can name what changed) and their digest, made plain once for both."""
    if not keep:
        return {}
    values = plain(have.values)
    return {"live_values": values, "live_fingerprint": plain_fingerprint(values)}


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
                FieldChange(
                    attr, added=tuple(sorted_values(value)), is_set=True, governance="neutral"
                )
            )
        else:
            out.append(
                FieldChange(
                    attr, after=plain(value), secret=attr in want.secrets, governance="neutral"
                )
            )
    return tuple(out)


def _field_changes(
    kind: ObjectKind, have: Mapping[str, Any], want: Mapping[str, Any], *, rename: bool
) -> list[FieldChange]:
    out: list[FieldChange] = []
    for attr, after in want.items():
        if attr == "name" and not rename:
            continue  # matched by name: equal by construction
        before = have.get(attr)
        _diff(kind, attr, (attr,), before, after, out, have, want)
    return out


def _diff(
    kind: ObjectKind,
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
        added = tuple(sorted_values(set_minus(after, before)))
        removed = tuple(sorted_values(set_minus(before, after)))
        fc = FieldChange(
            label, added=added, removed=removed, unchanged=len(after) - len(added), is_set=True
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
    kind: ObjectKind,
    path: tuple[str, ...],
    fc: FieldChange,
    have: Mapping[str, Any],
    want: Mapping[str, Any],
) -> FieldChange:
    return replace(fc, governance=kind.governance(path, fc, have, want))


# --- what apply sends ----------------------------------------------------------------------


def _send(
    kind: ObjectKind,
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
        out[attr] = _carry(kind, (attr,), value, extras) if extras else value
    return out


def _carry(
    kind: ObjectKind,
    path: tuple[str, ...],
    value: Any,
    extras: Mapping[tuple[str, ...], Mapping[str, Any]],
) -> Any:
    """``value`` with the unknown keys the live object has at the same places (recorded by
    ``normalize`` under the same paths): every nested object of every kind, so that an update
    never erases what reconciler does not model."""
    if isinstance(value, dict):
        kept = extras.get(path, {})
        carried = {k: _carry(kind, (*path, k), v, extras) for k, v in value.items()}
        return {**kept, **carried} if kept else carried
    if isinstance(value, list) and value and isinstance(value[0], dict):
        key = dict(kind.keyed_lists).get(path[0]) if len(path) == 1 else None
        return [
            _carry(kind, (*path, "[]", str(item.get(key) if key else i)), item, extras)
            if isinstance(item, dict)
            else item
            for i, item in enumerate(value)
        ]
    return value

"""Is a saved plan still true? The live state, the environment and the files, against the plan.

``apply FILE`` refuses a stale plan before any write (exit 4) and lists every reason, with the
values that changed; a plan whose writes are all live already (applied twice) is "already
applied" instead, and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler import kinds, secrets
from reconciler.errors import InputError, StalePlanError
from reconciler.kinds.base import ObjectKind
from reconciler.model import CustomPropertiesTable, LiveObject, Location, Plan
from reconciler.normalize import (
    equal,
    fingerprint,
    normalize_desired,
    normalize_live,
    plain,
    state_fingerprint,
)
from reconciler.sources import DataError, read_table

# said of the changes of a stale plan whose writes are live (an earlier apply that failed half-way)
APPLIED_ALREADY = ", with the values the plan would write"


def stale_reasons(
    plan: Plan, live: Mapping[str, Sequence[LiveObject]], env: Mapping[str, str]
) -> list[str]:
    """Why a saved plan may no longer be applied; empty when it still matches the live state."""
    reasons: list[str] = []
    by_id = {(kind, o.id.lower()): o for kind, objects in live.items() for o in objects}
    for change in plan.changes:
        kind = kinds.OBJECT_KINDS[change.ref.kind]
        if change.action == "create":
            taken = [
                o for o in live.get(kind.name, ()) if o.attributes.get("name") == change.ref.name
            ]
            if taken:
                done = len(taken) == 1 and _holds(kind, change.send or {}, taken[0].attributes)
                reasons.append(
                    f"{change.ref}: an object with this name was created since the plan "
                    f"(id {taken[0].id}){APPLIED_ALREADY if done else ''}"
                )
        elif change.action in ("update", "delete") and change.ref.id:
            obj = by_id.get((kind.name, change.ref.id.lower()))
            if obj is None:
                if change.action == "update":
                    reasons.append(f"{change.ref}: deleted since the plan")
                continue
            values = normalize_live(kind, obj.attributes).values
            if state_fingerprint(values) != change.live_fingerprint:
                described = describe_changes(kind, change.live_values, plain(values))
                if not described:  # a plan file without the values it saw
                    reasons.append(f"{change.ref}: changed since the plan")
                reasons += [f"{change.ref}: {what}" for what in described]
                if change.action == "update" and _holds(kind, change.send or {}, obj.attributes):
                    reasons.append(f"{change.ref}: now has the values the plan would write")
        for name in change.unresolved:
            reasons.append(
                f"{change.ref}: the plan could not resolve {name}; set it and plan again"
            )
        for key, value in (change.send or {}).items():
            if isinstance(value, dict) and "fromEnv" in value and "fingerprint" in value:
                current = secrets.from_env(env, value["fromEnv"], value.get("default"))
                if (
                    current is not None
                    and value["fingerprint"] is not None
                    and (fingerprint(current) != value["fingerprint"])
                ):
                    reasons.append(
                        f"{change.ref}: {key}: {value['fromEnv']} changed since the plan"
                    )
    return reasons


def table_as_planned(plan: Plan, directory: Path, plan_file: Path) -> CustomPropertiesTable:
    """The custom properties CSV a saved plan uploads, read again: StalePlanError (nothing is
    written) if it changed since the plan. ``plan.custom_properties`` must be set."""
    planned = plan.custom_properties
    assert planned is not None
    csv_path = directory / planned.file
    try:
        read = read_table(csv_path)
    except DataError as exc:
        raise InputError(f"{csv_path}: {exc.message}") from None
    if read.digest != planned.digest:
        raise StalePlanError(
            f"{plan_file} is stale: {planned.file} changed since the plan; "
            "nothing was written. Plan again."
        )
    return CustomPropertiesTable(Location(csv_path), csv_path, read.header, read.rows, read.digest)


def already_applied(
    plan: Plan, live: Mapping[str, Sequence[LiveObject]], *, uploaded: bool | None
) -> bool:
    """True when the plan writes something and the live state already holds all of it: each
    created object exists once with the planned values, each updated one has them, each deleted
    one is gone (the same plan applied twice, a CI job run again). ``uploaded``: whether the
    planned custom properties table is the one last uploaded (None: the plan uploads none)."""
    writes = [c for c in plan.changes if c.action != "no-op"]
    if (not writes and uploaded is None) or uploaded is False:
        return False
    by_id = {(kind, o.id.lower()): o for kind, objects in live.items() for o in objects}
    for change in writes:
        kind = kinds.OBJECT_KINDS[change.ref.kind]
        if change.action == "create":
            named = [
                o for o in live.get(kind.name, ()) if o.attributes.get("name") == change.ref.name
            ]
            if len(named) != 1 or not _holds(kind, change.send or {}, named[0].attributes):
                return False
            continue
        obj = by_id.get((kind.name, (change.ref.id or "").lower()))
        if change.action == "delete":
            if obj is not None:
                return False
        elif obj is None or not _holds(kind, change.send or {}, obj.attributes):
            return False
    return True


def _holds(kind: ObjectKind, send: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    """Whether a live object has every value a change sends (normalized, as apply's read-back
    compares them; a secret by the fingerprint the plan recorded)."""
    values: dict[str, Any] = {}
    fingerprints: dict[str, Any] = {}
    for key, value in send.items():
        if isinstance(value, dict) and "fromEnv" in value and "fingerprint" in value:
            if value["fingerprint"] is None:  # unresolved when planned: never applied
                return False
            fingerprints[key] = value["fingerprint"]
        else:
            values[key] = value
    want = normalize_desired(kind, values, {}).values
    have = normalize_live(kind, attributes).values
    return all(equal(have.get(k), v) for k, v in want.items()) and all(
        have.get(k) == fp for k, fp in fingerprints.items()
    )


def changed_fields(
    kind: ObjectKind, planned: Mapping[str, Any] | None, now: Mapping[str, Any]
) -> list[str]:
    """The fields of an object that differ from what the plan saw, named as plans name them
    (``totalThreshold``, ``tags[app_id].allowedValues``); empty when the plan did not keep
    the values (a plan file of an older version)."""
    return sorted(_changed_paths(kind, planned, now))


def describe_changes(
    kind: ObjectKind, planned: Mapping[str, Any] | None, now: Mapping[str, Any]
) -> list[str]:
    """One line per changed field, with the values: ``message changed since the plan ("A" ->
    "B")``. Values are canonical (secrets are fingerprints); long ones are cut."""
    if planned is None:
        return []
    lines = []
    for name, path in sorted(_changed_paths(kind, planned, now).items()):
        before, after = _at(planned, path), _at(now, path)
        lines.append(f"{name} changed since the plan ({_shown_change(before, after)})")
    return lines


def _changed_paths(
    kind: ObjectKind, planned: Mapping[str, Any] | None, now: Mapping[str, Any]
) -> dict[str, list[str]]:
    """Each changed field's name, with its path of keys (up to the first list index)."""
    if planned is None:
        return {}
    from deepdiff import DeepDiff  # only for a stale plan: never on the way to a plan

    keyed = {name for name, _ in kind.keyed_lists}
    found: dict[str, list[str]] = {}
    for report in DeepDiff(dict(planned), dict(now), view="tree").values():
        for level in report:
            path: list[str] = []
            for part in level.path(output_format="list"):
                if not isinstance(part, str):
                    break
                path.append(part)
            if not path:
                continue
            if path[0] in keyed and len(path) > 1:
                found[".".join([f"{path[0]}[{path[1]}]", *path[2:]])] = path
            else:
                found[".".join(path)] = path
    return found


_ABSENT = object()
SHOWN_CHARS = 60  # of one value in a stale plan's reason
SHOWN_MEMBERS = 3  # of a set's added or removed members


def _at(values: Mapping[str, Any], path: list[str]) -> Any:
    here: Any = values
    for key in path:
        if not isinstance(here, Mapping) or key not in here:
            return _ABSENT
        here = here[key]
    return here


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    if isinstance(value, str):  # cut inside the quotes
        cut = value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 3] + "..."
        return json.dumps(cut, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _shown_change(before: Any, after: Any) -> str:
    """``"A" -> "B"``; for a set, what was added and removed (``+1 -0: +"A-3"``)."""
    if not (isinstance(before, list) and isinstance(after, list)):
        return f"{_shown(before)} -> {_shown(after)}"
    added = [v for v in after if v not in before]
    removed = [v for v in before if v not in after]
    members = [f"+{_shown(v)}" for v in added[:SHOWN_MEMBERS]]
    members += [f"-{_shown(v)}" for v in removed[:SHOWN_MEMBERS]]
    more = len(added) + len(removed) - len(members)
    listed = ", ".join(members) + (f" and {more} more" if more else "")
    return f"+{len(added)} -{len(removed)}: {listed}" if listed else "reordered"

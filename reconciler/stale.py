"""Is a saved plan still true? The live state, the environment and the files, against the plan.

``apply FILE`` refuses a stale plan before any write (exit 4) and lists every reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler import kinds
from reconciler.errors import InputError, StalePlanError
from reconciler.kinds.base import ObjectKind
from reconciler.model import CustomPropertiesTable, LiveObject, Location, Plan
from reconciler.normalize import fingerprint, normalize_live, plain, state_fingerprint
from reconciler.sources import DataError, read_table


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
                reasons.append(
                    f"{change.ref}: an object with this name was created since the plan "
                    f"(id {taken[0].id})"
                )
        elif change.action in ("update", "delete") and change.ref.id:
            obj = by_id.get((kind.name, change.ref.id.lower()))
            if obj is None:
                if change.action == "update":
                    reasons.append(f"{change.ref}: deleted since the plan")
                continue
            values = normalize_live(kind, obj.attributes).values
            if state_fingerprint(values) != change.live_fingerprint:
                changed = changed_fields(kind, change.live_values, plain(values))
                what = f" ({', '.join(changed)})" if changed else ""
                reasons.append(f"{change.ref}: changed since the plan{what}")
        for name in change.unresolved:
            reasons.append(
                f"{change.ref}: the plan could not resolve {name}; set it and plan again"
            )
        for key, value in (change.send or {}).items():
            if isinstance(value, dict) and "fromEnv" in value and "fingerprint" in value:
                current = env.get(value["fromEnv"], value.get("default"))
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


def changed_fields(
    kind: ObjectKind, planned: Mapping[str, Any] | None, now: Mapping[str, Any]
) -> list[str]:
    """The fields of an object that differ from what the plan saw, named as plans name them
    (``totalThreshold``, ``tags[app_id].allowedValues``); empty when the plan did not keep
    the values (a plan file of an older version)."""
    if planned is None:
        return []
    from deepdiff import DeepDiff  # only for a stale plan: never on the way to a plan

    keyed = {name for name, _ in kind.keyed_lists}
    names: set[str] = set()
    for report in DeepDiff(dict(planned), dict(now), view="tree").values():
        for level in report:
            path = [str(p) for p in level.path(output_format="list") if isinstance(p, str)]
            if not path:
                continue
            if path[0] in keyed and len(path) > 1:
                names.add(".".join([f"{path[0]}[{path[1]}]", *path[2:]]))
            else:
                names.add(".".join(path))
    return sorted(names)

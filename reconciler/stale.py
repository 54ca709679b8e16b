"""Is a saved plan still true? The live state, the environment and the files, against the plan.

``apply FILE`` refuses a stale plan before any write (exit 4) and lists every reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from reconciler import kinds
from reconciler.errors import InputError, StalePlanError
from reconciler.model import CustomPropertiesTable, LiveObject, Location, Plan
from reconciler.normalize import fingerprint, normalize_live, state_fingerprint
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
            now = state_fingerprint(normalize_live(kind, obj.attributes).values)
            if now != change.live_fingerprint:
                reasons.append(f"{change.ref}: changed since the plan")
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

"""``filters``: where a policy or guardrail applies. Shared by the kinds that have them.

Each filter (``repos``, ``projects``...) has ``include`` and ``exclude`` glob lists, compared as
sets; an empty ``include`` means everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler import governance
from reconciler.kinds.base import (
    OMIT,
    DocumentCheck,
    ExportContext,
    FieldPath,
    expand,
    sorted_list,
)
from reconciler.model import FieldChange, Governance

SET_FIELDS: tuple[FieldPath, ...] = (("filters", "*", "include"), ("filters", "*", "exclude"))


def check(c: DocumentCheck) -> None:
    for spec in SET_FIELDS:
        for path, values in expand(c.data, spec):
            c.repeats(path, values, "value")


def classify(path: FieldPath, change: FieldChange) -> Governance | None:
    """The label of a change inside ``filters``; None for a path outside them."""
    if path[0] != "filters":
        return None
    field = path[-1]
    if field == "include":
        was_all = change.unchanged == 0 and not change.removed  # include was empty: everything
        now_all = change.unchanged == 0 and not change.added
        if was_all and change.added:
            return "loosening"  # from everything to a subset
        if now_all and change.removed:
            return "tightening"  # from a subset to everything
        return governance.sets(change, more_is_tighter=True)
    if field == "exclude":
        return governance.sets(change, more_is_tighter=False)
    return "unknown"


def export(value: Any, schema: Mapping[str, Any], out: ExportContext) -> Any:
    """The filters that are set, lists sorted (none: ``OMIT``); keys reconciler does not manage
    are left out (the API keeps them: updates carry them over), with a warning."""
    result: dict[str, Any] = {}
    if not isinstance(value, dict):
        return result
    props = schema.get("properties", {})
    for sub, spec in value.items():
        if sub not in props:
            out.warnings.append(
                f"{out.ref}: filters.{sub} is not managed by reconciler; left out "
                "(the API keeps it: updates carry it over)"
            )
            continue
        if not isinstance(spec, dict):
            continue
        entry: dict[str, Any] = {}
        for key in ("include", "exclude"):
            items = spec.get(key) or []
            if items:
                entry[key] = sorted_list(items)
        extra = set(spec) - {"include", "exclude"}
        if extra:
            out.warnings.append(
                f"{out.ref}: filters.{sub} has keys reconciler does not manage "
                f"({', '.join(sorted(extra))}); left out, the API keeps them"
            )
        if entry:
            result[sub] = entry
    return result or OMIT

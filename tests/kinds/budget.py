"""Budget: a fourth kind, defined in the test suite the way docs/adding-a-kind.md says.

Its schema (beside this file), this one module, and its sandbox entry (``SANDBOX_ENTRY``) are
all it takes: validate, plan, apply, export and the round trip then work with no other change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.kinds.base import GENERIC, DocumentCheck, ExportContext, FieldPath
from reconciler.model import FieldChange, Governance
from reconciler.sandbox import resources

SCHEMA = Path(__file__).with_name("budget.schema.json")


class Budget:
    name: str = "Budget"
    schema: str = str(SCHEMA)
    api_path: str = "budgets"
    jsonapi_type: str = "budgets"
    folder: str = "budgets"
    set_fields: tuple[FieldPath, ...] = (("owners",), ("notify", "emails"))
    keyed_lists: tuple[tuple[str, str], ...] = ()
    secret_fields: tuple[str, ...] = ()
    notification_fields: tuple[str, ...] = ()
    prunable: bool = True

    def check(self, c: DocumentCheck) -> dict[str, Any]:
        c.repeats(("owners",), c.data.get("owners"), "owner")
        if c.data.get("amount") == 0:
            c.warning(("amount",), "a budget of 0 alerts on every cost")
        return {}

    def secret_problem(self, attribute: str, value: str) -> str | None:
        return None

    def governance(
        self,
        path: FieldPath,
        change: FieldChange,
        have: Mapping[str, Any],
        want: Mapping[str, Any],
    ) -> Governance:
        if path[0] in ("name", "owners", "notify"):
            return "neutral"
        before, after = change.before, change.after
        numbers = isinstance(before, int | float) and isinstance(after, int | float)
        if path == ("amount",) and numbers:
            return "tightening" if after < before else "loosening"
        return "unknown"

    def export_attribute(
        self, attribute: str, value: Any, schema: Mapping[str, Any], out: ExportContext
    ) -> Any:
        return GENERIC


_NOTIFY = {"channel": resources.text(), "emails": resources.strings}

SANDBOX_ENTRY = resources.Kind(
    type="budgets",
    quirk_type="budget",
    attributes={
        "name": resources.Attribute(resources.text(non_empty=True), "", required=True),
        "amount": resources.Attribute(resources.threshold),
        "owners": resources.Attribute(resources.strings, []),
        "notify": resources.Attribute(
            lambda value, at, errors: resources.fields(value, at, errors, _NOTIFY), {}
        ),
    },
    filter_names=(),
    ordered_lists=("owners",),
)

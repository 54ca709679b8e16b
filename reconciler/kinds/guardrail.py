"""Guardrail: cost thresholds that comment on, fail or block pull requests, and whom to notify.

Particular to this kind: thresholds are AND-combined and a guardrail with none never triggers;
``webhookUrl`` is a secret (``fromEnv`` only, compared by fingerprint); the notification lists
are sets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from reconciler import governance
from reconciler.kinds import filters
from reconciler.kinds.base import GENERIC, DocumentCheck, ExportContext, FieldPath
from reconciler.model import FieldChange, Governance

THRESHOLDS = ("increaseThreshold", "increasePercentThreshold", "totalThreshold")
_RECIPIENTS = ("emailRecipientOrgMemberIds", "mailingListEmails", "msTeamsEmails")
_NEUTRAL = frozenset({"name", "message", "webhookUrl", *_RECIPIENTS})


class Guardrail:
    name: str = "Guardrail"
    schema: str = "guardrail.schema.json"
    api_path: str = "guardrails"
    jsonapi_type: str = "guardrails"
    folder: str = "guardrails"
    set_fields: tuple[FieldPath, ...] = (*filters.SET_FIELDS, *((r,) for r in _RECIPIENTS))
    keyed_lists: tuple[tuple[str, str], ...] = ()
    secret_fields: tuple[str, ...] = ("webhookUrl",)
    notification_fields: tuple[str, ...] = ("webhookUrl", *_RECIPIENTS)
    prunable: bool = True

    def check(self, c: DocumentCheck) -> dict[str, Any]:
        data = c.data
        filters.check(c)
        for attribute in _RECIPIENTS:
            c.repeats((attribute,), data.get(attribute), "value")
        if data.get("scope") == "REPO":
            c.warning(
                ("scope",),
                "REPO is accepted for older clients; Infracost documents PULL_REQUEST and PROJECT",
            )
        if all(data.get(t) is None for t in THRESHOLDS):
            c.warning((), "has no threshold, so it never triggers")
        for name in THRESHOLDS:
            value = data.get(name)
            if isinstance(value, float) and not math.isfinite(value):
                c.error((name,), f"must be a finite number; got {value}")
        percent = data.get("increasePercentThreshold")
        if isinstance(percent, int | float) and not isinstance(percent, bool) and 0 < percent < 1:
            c.warning(
                ("increasePercentThreshold",),
                f"is in whole percent: {percent} means {percent} %, not {percent * 100:g} %",
            )
        return {}

    def secret_problem(self, attribute: str, value: str) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            return "does not hold an http(s) URL"
        return None

    def governance(
        self,
        path: FieldPath,
        change: FieldChange,
        have: Mapping[str, Any],
        want: Mapping[str, Any],
    ) -> Governance:
        field = path[-1]
        if field in _NEUTRAL:
            return "neutral"
        if field in ("blockPr", "prComment"):
            return governance.switch(change)
        from_filters = filters.classify(path, change)
        if from_filters is not None:
            return from_filters
        if field in THRESHOLDS:
            return _threshold(field, change, have)
        return "unknown"

    def export_attribute(
        self, attribute: str, value: Any, schema: Mapping[str, Any], out: ExportContext
    ) -> Any:
        if attribute == "filters":
            return filters.export(value, schema, out)
        return GENERIC


def _threshold(field: str, change: FieldChange, have: Mapping[str, Any]) -> Governance:
    """Thresholds are AND-combined; a guardrail with none never triggers."""
    others = [have.get(t) for t in THRESHOLDS if t != field]
    others_set = any(isinstance(v, int | float) and not isinstance(v, bool) for v in others)
    before, after = change.before, change.after
    if before is None and after is not None:
        return "loosening" if others_set else "tightening"
    if after is None and before is not None:
        return "tightening" if others_set else "loosening"
    if isinstance(before, int | float) and isinstance(after, int | float):
        return "tightening" if after < before else "loosening"
    return "unknown"

"""Governance labels: does a change make more pull requests fail or be blocked?

Each field change is *tightening* (more PRs commented on, failed or blocked), *loosening*
(fewer), *mixed*, *unknown* (depends on the code under review), or *neutral* (no effect on
enforcement: messages, names, notification targets). The rule table is in docs/governance.md;
tests/cases/governance checks each rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import FieldChange, Governance

_ON_IS_TIGHTER = {"blockPr", "prComment", "mandatory"}
_NEUTRAL = {
    "name",
    "message",
    "webhookUrl",
    "emailRecipientOrgMemberIds",
    "mailingListEmails",
    "msTeamsEmails",
}
_THRESHOLDS = ("increaseThreshold", "increasePercentThreshold", "totalThreshold")


def combine(labels: Iterable[Governance]) -> Governance:
    seen = set(labels) - {"neutral"}
    if not seen:
        return "neutral"
    if "mixed" in seen or {"tightening", "loosening"} <= seen:
        return "mixed"
    if "unknown" in seen:
        return "unknown"
    return "tightening" if "tightening" in seen else "loosening"


def _sets(fc: FieldChange, *, more_is_tighter: bool) -> Governance:
    if fc.added and fc.removed:
        return "mixed"
    if fc.added:
        return "tightening" if more_is_tighter else "loosening"
    return "loosening" if more_is_tighter else "tightening"


def classify(
    kind: str,
    path: tuple[str, ...],
    fc: FieldChange,
    have: Mapping[str, Any],
    want: Mapping[str, Any],
) -> Governance:
    field = path[-1]
    if path[0] == "tags" and len(path) == 3:  # a whole tag rule added or removed
        if fc.before is None:
            return "tightening"
        return "loosening"
    if field in _NEUTRAL:
        return "neutral"
    if field in _ON_IS_TIGHTER:
        if fc.after is True and fc.before is False:
            return "tightening"
        if fc.after is False and fc.before is True:
            return "loosening"
        return "unknown"
    if field in ("allowedValues", "allowedRegex") and _value_type_changes(path, have, want):
        return "neutral"  # the valueType change decides
    if field == "allowedValues":  # more allowed values: fewer PRs fail
        return _sets(fc, more_is_tighter=False)
    if field == "valueType":
        if fc.before == "ANY":
            return "tightening"
        if fc.after == "ANY":
            return "loosening"
        return "unknown"
    if path[0] == "filters" and field == "include":
        was_all = fc.unchanged == 0 and not fc.removed  # include was empty: everything
        now_all = fc.unchanged == 0 and not fc.added
        if was_all and fc.added:
            return "loosening"  # from everything to a subset
        if now_all and fc.removed:
            return "tightening"  # from a subset to everything
        return _sets(fc, more_is_tighter=True)
    if path[0] == "filters" and field == "exclude":
        return _sets(fc, more_is_tighter=False)
    if kind == "Guardrail" and field in _THRESHOLDS:
        return _threshold(field, fc, have)
    return "unknown"


def _value_type_changes(
    path: tuple[str, ...], have: Mapping[str, Any], want: Mapping[str, Any]
) -> bool:
    if len(path) < 4 or path[0] != "tags":
        return False
    key = path[2]
    before = have.get("tags", {}).get(key, {}) if isinstance(have.get("tags"), dict) else {}
    after = want.get("tags", {}).get(key, {}) if isinstance(want.get("tags"), dict) else {}
    return bool(before.get("valueType") != after.get("valueType"))


def _threshold(field: str, fc: FieldChange, have: Mapping[str, Any]) -> Governance:
    """Thresholds are AND-combined; a guardrail with none never triggers."""
    others = [have.get(t) for t in _THRESHOLDS if t != field]
    others_set = any(isinstance(v, int | float) and not isinstance(v, bool) for v in others)
    before, after = fc.before, fc.after
    if before is None and after is not None:
        return "loosening" if others_set else "tightening"
    if after is None and before is not None:
        return "tightening" if others_set else "loosening"
    if isinstance(before, int | float) and isinstance(after, int | float):
        return "tightening" if after < before else "loosening"
    return "unknown"

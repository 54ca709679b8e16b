"""A stale plan names the fields that changed since it was made (literal data)."""

from __future__ import annotations

from reconciler.kinds import OBJECT_KINDS
from reconciler.stale import changed_fields

POLICY = OBJECT_KINDS["TaggingPolicy"]


def test_fields_are_named_as_plans_name_them() -> None:
    planned = {
        "name": "Apps",
        "message": "m",
        "tags": {"app_id": {"allowedValues": ["A-1", "A-2"], "mandatory": True}},
        "filters": {"repos": {"include": [], "exclude": []}},
    }
    now = {
        "name": "Apps",
        "message": "edited in the UI",
        "tags": {"app_id": {"allowedValues": ["A-1", "A-2", "A-3"], "mandatory": True}},
        "filters": {"repos": {"include": ["acme/*"], "exclude": []}},
    }
    assert changed_fields(POLICY, planned, now) == [
        "filters.repos.include",
        "message",
        "tags[app_id].allowedValues",
    ]


def test_a_tag_rule_added_is_named_by_its_key() -> None:
    planned = {"tags": {"env": {"valueType": "ANY"}}}
    now = {"tags": {"env": {"valueType": "ANY"}, "team": {"valueType": "ANY"}}}
    assert changed_fields(POLICY, planned, now) == ["tags[team]"]


def test_a_plan_without_values_names_nothing() -> None:
    assert changed_fields(POLICY, None, {"message": "x"}) == []

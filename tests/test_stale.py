"""A stale plan names the fields that changed since it was made (literal data)."""

from __future__ import annotations

from reconciler.kinds import OBJECT_KINDS
from reconciler.stale import changed_fields, describe_changes

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


GUARDRAIL = OBJECT_KINDS["Guardrail"]


def test_a_stale_reason_shows_what_changed_with_secrets_as_fingerprints() -> None:
    planned = {
        "message": "A",
        "totalThreshold": 100,
        "webhookUrl": "sha256:0123456789ab",
        "mailingListEmails": ["a@acme-inc.com", "b@acme-inc.com"],
    }
    now = {
        "message": "B",
        "totalThreshold": 5,
        "webhookUrl": "sha256:ba9876543210",
        "mailingListEmails": ["b@acme-inc.com", "c@acme-inc.com", "d@acme-inc.com"],
    }
    assert describe_changes(GUARDRAIL, planned, now) == [
        "mailingListEmails changed since the plan "
        '(+2 -1: +"c@acme-inc.com", +"d@acme-inc.com", -"a@acme-inc.com")',
        'message changed since the plan ("A" -> "B")',
        "totalThreshold changed since the plan (100 -> 5)",
        'webhookUrl changed since the plan ("sha256:0123456789ab" -> "sha256:ba9876543210")',
    ]


def test_long_values_and_many_members_are_cut() -> None:
    planned = {"message": "x" * 100, "tags": {"app": {"allowedValues": ["A"]}}}
    now = {"tags": {"app": {"allowedValues": [f"V{i}" for i in range(10)]}}}
    assert describe_changes(POLICY, planned, now) == [
        f'message changed since the plan ("{"x" * 57}..." -> absent)',
        "tags[app].allowedValues changed since the plan "
        '(+10 -1: +"V0", +"V1", +"V2", -"A" and 7 more)',
    ]
    assert describe_changes(POLICY, None, now) == []

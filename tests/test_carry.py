"""Unknown keys the live object has inside nested objects go back into every update, for any
kind: literal data through ``diff._send`` (pure)."""

from __future__ import annotations

from typing import Any

from reconciler.diff import _send
from reconciler.kinds import OBJECT_KINDS
from reconciler.normalize import normalize_desired, normalize_live


def _update(kind_name: str, desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    kind = OBJECT_KINDS[kind_name]
    want = normalize_desired(kind, desired, {})
    have = normalize_live(kind, live)
    return _send(kind, desired, want, list(desired), have.extras)


def test_unknown_keys_of_keyed_items_and_nested_objects_are_carried() -> None:
    desired = {
        "tags": [{"key": "env", "valueType": "ANY"}, {"key": "team", "valueType": "ANY"}],
        "filters": {"repos": {"include": ["acme/*"]}},
    }
    live = {
        "tags": [
            {"key": "team", "valueType": "ANY", "severity": "high"},
            {"key": "env", "valueType": "ANY"},
        ],
        "filters": {"repos": {"include": [], "matchMode": "glob"}, "labels": {"include": ["x"]}},
    }
    sent = _update("TaggingPolicy", desired, live)
    assert sent["tags"] == [
        {"key": "env", "valueType": "ANY"},
        {"key": "team", "valueType": "ANY", "severity": "high"},
    ]
    assert sent["filters"] == {
        "labels": {"include": ["x"]},
        "repos": {"include": ["acme/*"], "matchMode": "glob"},
    }


def test_what_is_sent_wins_over_what_is_carried() -> None:
    live = {"filters": {"repos": {"include": ["old/*"], "extra": 1}}}
    sent = _update("Guardrail", {"filters": {"repos": {"include": ["new/*"]}}}, live)
    assert sent["filters"] == {"repos": {"include": ["new/*"], "extra": 1}}


def test_nothing_to_carry_sends_the_value_as_it_is() -> None:
    desired = {"filters": {"repos": {"include": ["a"]}}}
    sent = _update("Guardrail", desired, {"filters": {"repos": {"include": ["b"]}}})
    assert sent["filters"] is desired["filters"]

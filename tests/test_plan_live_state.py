"""What updates and deletes keep of the live state: for saved plans and JSON, not for a plan that
is only shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reconciler import kinds
from reconciler.diff import diff_kind
from reconciler.model import Change, LiveObject, Location, Resource

GUARDRAIL = kinds.OBJECT_KINDS["Guardrail"]


def _changes(keep_live: bool) -> list[Change]:
    doc = Resource(
        "Guardrail",
        "kept",
        {"name": "kept", "scope": "PROJECT", "totalThreshold": 2},
        Location(Path("g.yaml"), 1, 1),
    )
    live = [
        LiveObject("id-1", {"name": "kept", "scope": "PROJECT", "totalThreshold": 1}),
        LiveObject("id-2", {"name": "gone", "scope": "PROJECT"}),
    ]
    found = diff_kind(
        GUARDRAIL, [doc], live, selected=lambda ref: True, prune=True, env={}, keep_live=keep_live
    )
    return sorted(found.changes, key=lambda c: c.ref.name)


def test_updates_and_deletes_keep_the_live_state_for_saved_plans() -> None:
    kept = _changes(keep_live=True)
    assert [(c.action, c.ref.name) for c in kept] == [("delete", "gone"), ("update", "kept")]
    for change in kept:
        assert change.live_fingerprint and change.live_fingerprint.startswith("sha256:")
        assert change.live_values is not None
    assert (kept[1].live_values or {})["totalThreshold"] == 1


def test_a_plan_only_shown_skips_the_live_state_and_nothing_else() -> None:
    shown = _changes(keep_live=False)
    assert all(c.live_fingerprint is None and c.live_values is None for c in shown)
    kept = [replace(c, live_fingerprint=None, live_values=None) for c in _changes(keep_live=True)]
    assert shown == kept

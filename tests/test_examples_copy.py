"""Tests copy examples/ as a fresh clone has it, whatever a run of the README left there."""

from __future__ import annotations

from tests.helpers.examples import LOCAL_STATE, ROOT


def test_copies_leave_out_the_local_state() -> None:
    names = [".reconciler", "data", "reconciler.yaml", "__pycache__"]
    assert LOCAL_STATE(str(ROOT / "examples"), names) == {".reconciler", "__pycache__"}

"""docs/sandbox.md names every fault and quirk (test_curl.py checks its curl examples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sandbox.faults import QUIRKS, RATE_KEYS, SCRIPT_STEPS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text()


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_every_quirk_is_documented(name: str) -> None:
    assert f"| `{name}` |" in DOC


@pytest.mark.parametrize("key", ["latency_ms", *RATE_KEYS, "seed", "script"])
def test_every_fault_key_is_documented(key: str) -> None:
    assert f"| `{key}=" in DOC


def test_every_script_step_is_documented() -> None:
    steps = DOC.split("Steps:", 1)[1].split("\n|", 1)[0]
    assert all(f"`{step}`" in steps for step in SCRIPT_STEPS)

"""One clear line and exit 1 for the mistakes people make with flags and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.examples import copy_examples

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path / "examples")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nope"], "nope: no such directory"),
        (["plan", "nope"], "no such directory"),
        (["validate", "examples/reconciler.yaml"], "is a file, not a directory"),
        (["plan", "examples", "--api", "http://api.example.com/v1"], "uses plain http"),
        (["plan", "examples", "--api", "http://127.0.0.1:8799"], "has no path"),
        (
            ["plan", "examples", "--api", "http://127.0.0.1:8799/v1"],
            "reconciler sandbox token --org acme",
        ),
        (
            ["plan", "examples", "--api", "https://api.infracost.io/v1"],
            "INFRACOST_SERVICE_TOKEN is not set: create a service account token",
        ),
        (["plan", "examples", "-o", "examples"], "is a directory; name a file"),
    ],
)
def test_one_clear_line(examples: Path, args: list[str], message: str) -> None:
    code, out, err = run(*args, cwd=examples.parent)
    assert code == 1, out + err
    last = err.strip().splitlines()[-1]
    assert message in last
    assert "Traceback" not in err and "Internal error" not in err
    assert "desired state" not in err  # a flag or a path, not a problem of the files


@pytest.mark.parametrize("flag", ["--prune", "--allow-mass-delete", "--baseline=HEAD"])
def test_plan_time_flags_are_refused_with_a_saved_plan(examples: Path, flag: str) -> None:
    assert run("plan", "examples", "-o", "plan.json", cwd=examples.parent)[0] == 0
    code, _, err = run("apply", "plan.json", flag, cwd=examples.parent)
    assert code == 1
    assert "applies to a directory, not to a saved plan" in err

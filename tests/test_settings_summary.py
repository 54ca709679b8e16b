"""When the settings stop a command (the environment against reconciler.yaml, an unusable URL
from the environment), the summary line says so, never "an error in the desired state": the
files are fine. Exit codes do not change. End to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.examples import copy_examples

CONFLICT = (
    'reconciler.yaml:4:6: api: reconciler.yaml sets api "sandbox" but the environment sets '
    'INFRACOST_API_URL="http://127.0.0.1:1/v1"; pass --api to choose one (or unset '
    "INFRACOST_API_URL)"
)
SUMMARY = (
    "Error: .: the settings conflict: the environment and reconciler.yaml disagree (see above); "
    "the files themselves have no errors"
)


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path / "examples")


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"]])
def test_an_environment_conflict_is_summed_up_as_one(examples: Path, command: list[str]) -> None:
    env = {"INFRACOST_API_URL": "http://127.0.0.1:1/v1"}
    code, out, err = run(*command, cwd=examples, env=env)
    assert (code, out) == (1, "")
    assert err.splitlines()[-2:] == [CONFLICT, SUMMARY]
    assert not (examples / ".reconciler").exists()  # nothing reached, nothing written
    # as the line says: a flag chooses; apply, then plan shows no changes
    code, out, err = run("apply", "--auto-approve", "--api", "sandbox", cwd=examples, env=env)
    assert code == 0, out + err
    code, out, err = run("plan", "--api", "sandbox", "--detailed-exitcode", cwd=examples, env=env)
    assert code == 0 and out.endswith("No changes.\n"), out + err


def test_errors_of_the_files_are_still_counted_beside_a_conflict(examples: Path) -> None:
    (examples / "guardrails" / "broken.yaml").write_text("kind: Guardrail\nname: Broken\n")
    env = {"INFRACOST_API_URL": "http://127.0.0.1:1/v1"}
    code, out, err = run("plan", cwd=examples, env=env)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "Error: .: the settings conflict: the environment and reconciler.yaml disagree (see "
        "above); 1 error in the desired state (run reconciler validate for details)"
    )


def test_an_unusable_url_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("org: acme\n")
    (tmp_path / "g.yaml").write_text(
        "kind: Guardrail\nname: G\nscope: PROJECT\ntotalThreshold: 1\n"
    )
    env = {"INFRACOST_API_URL": "http://api.example.com/v1"}
    code, out, err = run("plan", cwd=tmp_path, env=env)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        "Error: .: the settings cannot be used (see above); the files themselves have no errors"
    )
    assert "(from INFRACOST_API_URL) uses plain http" in err
    # the environment is at fault: no file line is named
    assert err.splitlines()[0].startswith("api: api 'http://api.example.com/v1' (from INF")


def test_validate_json_names_the_conflict_by_its_rule(examples: Path) -> None:
    env = {"INFRACOST_API_URL": "http://127.0.0.1:1/v1"}
    code, out, _ = run("validate", "--format", "json", cwd=examples, env=env)
    assert code == 1
    errors = [p for p in json.loads(out)["problems"] if p["severity"] == "error"]
    assert [(p["file"], p["field"], p["rule"]) for p in errors] == [
        ("reconciler.yaml", "api", "settings/conflict")
    ]

"""A new user's first hour (issue 16): files that are not saved plans, the directory found like
git finds .git, and export into a new repository. End to end through the CLI."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import against, run
from tests.helpers.sandbox import SandboxOrg

GUARDRAIL = "kind: Guardrail\nname: Project budget\nscope: PROJECT\ntotalThreshold: 100\n"


def desired(directory: Path, config: str = "") -> Path:
    (directory / "guardrails").mkdir(parents=True)
    (directory / "reconciler.yaml").write_text(config or "prune: false\n")
    (directory / "guardrails" / "budget.yaml").write_text(GUARDRAIL)
    return directory


# --- saved plans ------------------------------------------------------------------------------


def test_a_file_that_is_not_a_saved_plan_is_named_for_what_it_is(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = desired(tmp_path / "gov")
    flags, env = against(sandbox_org)
    code, document, err = run("plan", *flags, "--format", "json", cwd=directory, env=env)
    assert code == 0, err
    (directory / "plan.json").write_text(document)
    assert run("snapshot", *flags, "-o", "live.json", cwd=directory, env=env)[0] == 0
    (directory / "cut.json").write_text(document[: len(document) // 2])
    (directory / "notes.txt").write_text("plan: apply on Monday\n")
    says = {
        "plan.json": "plan.json: the plan document that plan --format json prints, not a saved "
        "plan (it has no checksum and no digest of the files, so apply cannot check it)",
        "live.json": "live.json: a live snapshot (from reconciler snapshot), not a saved plan: "
        "plan against it with reconciler plan DIR --live live.json",
        "guardrails/budget.yaml": "guardrails/budget.yaml: a YAML file, not a saved plan",
        "cut.json": "cut.json: not a saved plan: damaged JSON (line ",
        "notes.txt": "notes.txt: not a saved plan (not JSON)",
        "missing.json": "missing.json: no such file",  # apply: "or directory"
    }
    for command in ("show", "apply"):
        for name, message in says.items():
            code, out, err = run(command, name, cwd=directory, env=env)
            assert code == 1 and out == "", (command, name, err)
            assert len(err.splitlines()) == 1, err
            assert "a saved plan is the file reconciler plan DIR -o FILE writes" in err
            assert "checksum does not match" not in err and "Expecting" not in err
            if command == "apply" and name.endswith(".yaml"):
                assert "to plan and apply its directory: reconciler apply ." in err, err
            else:
                assert err.startswith(f"Error: {message}"), err
    assert sandbox_org.writes() == 0

"""A new user's first hour (issue 16): files that are not saved plans, the directory found like
git finds .git, and export into a new repository. End to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# --- finding the directory, like git finds .git ---------------------------------------------

POLICY = (
    "kind: TaggingPolicy\nname: Apps\ntags:\n  - key: app_id\n    valueType: LIST\n"
    "    allowedValues: [APP-1, app-2]\n"
)


def test_without_dir_commands_use_the_nearest_reconciler_yaml(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    config = (
        f"org: {sandbox_org.org}\napi: {sandbox_org.base_url}\n"
        "hygiene:\n  app_id: {case: upper}\n"
    )
    gov = desired(tmp_path / "gov", config)
    (gov / "policies").mkdir()
    (gov / "policies" / "apps.yaml").write_text(POLICY)
    below = gov / "guardrails"
    env = {"INFRACOST_SERVICE_TOKEN": sandbox_org.token}
    using = f"Using .. ({gov}): the nearest directory with a reconciler.yaml\n"

    code, out, err = run("validate", cwd=below, env=env)
    assert code == 0 and err == using, out + err
    assert '"app-2" (line 6) has lower-case letters (house style: upper case)' in out  # its hygiene
    assert out.endswith("Valid with 1 warning: 1 Guardrail, 1 TaggingPolicy in 2 files.\n")

    code, out, err = run("plan", "--detailed-exitcode", cwd=below, env=env)  # its org and api
    assert code == 2 and err.startswith(using), out + err
    assert f"org {sandbox_org.org} @ {sandbox_org.base_url}" in out
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in out

    code, out, err = run("apply", "--auto-approve", cwd=below, env=env)
    assert code == 0 and "Apply complete: 2 applied" in out, out + err
    code, out, err = run("snapshot", "-o", "live.json", cwd=below, env=env)
    assert code == 0 and "Saved 2 live objects" in out, out + err
    writes = sandbox_org.writes()
    code, out, err = run("plan", "--detailed-exitcode", cwd=below, env=env)
    assert code == 0 and out.endswith("No changes.\n"), out + err
    assert sandbox_org.writes() == writes

    code, out, err = run("validate", cwd=gov, env=env)  # in the directory itself: nothing said
    assert code == 0 and "Using" not in err


def test_the_search_stops_at_the_top_of_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("org: someone-elses\n")
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    (repository / "notes").mkdir()
    code, out, err = run("validate", cwd=repository / "notes")
    assert code == 1 and out == "", err
    assert err == (
        "Error: .: no reconciler.yaml and no resource files (*.yaml, *.yml): "
        "is this the desired-state directory?\n"
    )


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "pull", "snapshot"])
def test_above_every_desired_state_directory_the_command_names_them(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / ".git").mkdir()
    for name in ("gamma", "acme", "beta", "teams/delta", "acme/nested"):
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / name / "reconciler.yaml").write_text("org: acme\n")
    (tmp_path / ".cache" / "x").mkdir(parents=True)  # dot-entries are not searched
    (tmp_path / ".cache" / "x" / "reconciler.yaml").write_text("org: acme\n")
    (tmp_path / "notes.yaml").write_text("not: a resource\n")
    extra = ["-o", "live.json"] if command == "snapshot" else []

    code, out, err = run(command, *extra, cwd=tmp_path)
    assert (code, out) == (1, ""), err
    assert err == (
        "Error: no reconciler.yaml at or above the current directory; the desired-state "
        "directories below are acme, beta, gamma and 1 more: pass one as DIR "
        f"(reconciler {command} acme)\n"
    )
    code, out, err = run(command, *extra, cwd=tmp_path / "teams")
    assert (code, out) == (1, ""), err
    assert err == (
        "Error: no reconciler.yaml at or above the current directory; the desired-state "
        f"directory below is delta: pass it as DIR (reconciler {command} delta)\n"
    )


def test_a_bare_folder_of_documents_is_still_the_desired_state(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "guardrails").mkdir()
    (tmp_path / "guardrails" / "budget.yaml").write_text(GUARDRAIL)
    code, out, err = run("validate", cwd=tmp_path / "guardrails")
    assert (code, err) == (0, ""), out + err
    assert out == "Valid: 1 Guardrail in 1 file.\n"


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "pull", "snapshot"])
def test_a_file_given_as_dir_names_the_directory_that_holds_it(
    tmp_path: Path, command: str
) -> None:
    desired(tmp_path / "gov")
    extra = ["-o", "live.json"] if command == "snapshot" else []
    code, out, err = run(command, "gov/guardrails/budget.yaml", *extra, cwd=tmp_path)
    assert code == 1 and out == "", err
    if command == "apply":  # a YAML file where a saved plan or a directory may be given
        assert err.startswith(
            "Error: gov/guardrails/budget.yaml: a YAML file, not a saved plan; "
            "to plan and apply its directory: reconciler apply gov; "
        ), err
    else:
        assert err == (
            "Error: gov/guardrails/budget.yaml: is a file, not a directory; the desired-state "
            f"directory that holds it is gov: reconciler {command} gov\n"
        )
        code, out, err = run(command, "guardrails/budget.yaml", *extra, cwd=tmp_path / "gov")
        assert (code, out) == (1, ""), err
        assert err == (
            "Error: guardrails/budget.yaml: is a file, not a directory; the desired-state "
            f"directory that holds it is the current directory: reconciler {command} .\n"
        )


def test_snapshot_and_export_with_org_and_api_need_no_desired_state(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    sandbox_org.guardrail("Project budget", scope="PROJECT", totalThreshold=100)
    unrelated = tmp_path / "ops"
    unrelated.mkdir()
    (unrelated / "docker-compose.yml").write_text("services: [\n")  # not even valid YAML
    (unrelated / "reconciler.yaml").write_text("org: [\n")  # nor this: the flags decide
    flags, env = against(sandbox_org)
    code, out, err = run("snapshot", *flags, "-o", "live.json", cwd=unrelated, env=env)
    assert (code, err) == (0, ""), out + err
    assert out == f"Saved 1 live object of org {sandbox_org.org} to live.json.\n"
    code, out, err = run("export", *flags, "-o", "gov", cwd=unrelated, env=env)
    assert (code, err) == (0, ""), out + err
    code, out, err = run("plan", "gov", *flags, "--detailed-exitcode", cwd=unrelated, env=env)
    assert code == 0 and out.endswith("No changes.\n"), out + err


# --- export into a new repository ---------------------------------------------------------------


def test_export_into_a_fresh_repository_then_force_keeps_the_settings(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    budget = sandbox_org.guardrail("Project budget", scope="PROJECT", totalThreshold=100)
    flags, env = against(sandbox_org)
    gov = tmp_path / "gov"
    (gov / ".git").mkdir(parents=True)  # git init: only dot-entries
    (gov / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    code, out, err = run("export", *flags, "-o", "gov", cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert out.startswith(f"Exported 0 TaggingPolicy, 1 Guardrail of org {sandbox_org.org} to gov/")
    assert (gov / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"

    settings = (
        "# ours\n"
        f"org: old-org  # renamed\napi: {sandbox_org.base_url}\n"
        "prune: [Guardrail]\n"
        "hygiene:\n  app_id: {case: upper}\n"
    )
    (gov / "reconciler.yaml").write_text(settings)
    (gov / "README.md").write_text("Our governance\n")
    (gov / "guardrails" / "retired.yaml").write_text(GUARDRAIL.replace("Project", "Old"))
    sandbox_org.request(
        "PATCH", "guardrails", budget["id"], json={"data": {"attributes": {"totalThreshold": 7}}}
    )
    code, out, err = run("export", *flags, "-o", "gov", cwd=tmp_path, env=env)
    assert code == 1 and "pass --force" in err and "project-budget.yaml" not in out
    code, out, err = run("export", *flags, "-o", "gov", "--force", cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert out.splitlines()[1:4] == [
        "Replaced 1 existing file(s): guardrails/project-budget.yaml",
        f'reconciler.yaml: your settings kept; org "old-org" -> "{sandbox_org.org}"',
        "Kept 2 file(s) the export does not write: README.md, guardrails/retired.yaml (a "
        "document there whose object is not in the org plans as a create)",
    ]
    assert (gov / "reconciler.yaml").read_text() == settings.replace("old-org", sandbox_org.org)
    code, out, err = run("export", *flags, "-o", "gov", "--force", cwd=tmp_path, env=env)
    assert code == 0 and "reconciler.yaml: your settings kept; org and api already agree" in out
    assert "Replaced" not in out

    (gov / "guardrails" / "retired.yaml").unlink()  # as the hint says
    writes = sandbox_org.writes()
    code, out, err = run("plan", "--detailed-exitcode", cwd=gov, env=env)
    assert code == 0 and out.endswith("No changes.\n"), out + err
    assert sandbox_org.writes() == writes


def test_export_force_refuses_a_settings_file_it_cannot_keep(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    (tmp_path / "gov").mkdir()
    (tmp_path / "gov" / "reconciler.yaml").write_text("org: [acme\n")
    code, out, err = run("export", *flags, "-o", "gov", "--force", cwd=tmp_path, env=env)
    assert code == 1 and out == "", err
    assert err == (
        "Error: gov/reconciler.yaml: not valid YAML at line 2: its settings cannot be kept; "
        "fix or remove it\n"
    )
    assert [p.name for p in (tmp_path / "gov").iterdir()] == ["reconciler.yaml"]


def test_merge_config_changes_only_org_and_api() -> None:
    from reconciler.export import merge_config

    kept = "# ours\nprune: true\nhygiene:\n  team: {case: lower}\n"
    assert merge_config(kept, "acme", "sandbox") == (
        "# ours\norg: acme\napi: sandbox\nprune: true\nhygiene:\n  team: {case: lower}\n",
        ["org acme added", "api sandbox added"],
    )
    assert merge_config("", "acme", None) == ("org: acme\n", ["org acme added"])
    assert merge_config("org: acme\napi: https://API.infracost.io/v1/\n", "acme", None) == (
        "org: acme\napi: https://API.infracost.io/v1/\n",
        [],
    )
    assert merge_config("org: acme\napi: sandbox", "acme", None) == (
        "org: acme\napi: https://api.infracost.io/v1\n",
        ['api "sandbox" -> "https://api.infracost.io/v1"'],
    )
    with pytest.raises(ValueError, match="not a mapping of settings"):
        merge_config("- org: acme\n", "acme", None)


@pytest.mark.parametrize("command", [["validate"], ["plan"], ["apply", "--auto-approve"]])
def test_a_folder_without_a_desired_state_is_the_wrong_folder(
    tmp_path: Path, sandbox_org: SandboxOrg, command: list[str]
) -> None:
    """Not an empty desired state that would list the whole org as unmanaged, and not "no org":
    every command says the same, with or without --org and --api."""
    sandbox_org.guardrail("Live one", scope="PROJECT", totalThreshold=1)
    flags, env = against(sandbox_org)
    for extra in ((), flags):
        code, out, err = run(*command, *extra, cwd=tmp_path, env=env)
        assert (code, out) == (1, "")
        assert err == (
            "Error: .: no reconciler.yaml and no resource files (*.yaml, *.yml): is this the "
            "desired-state directory?\n"
        )
    assert sandbox_org.writes() == 1  # the seeded one only

"""reconciler's local state (``.reconciler/``: the embedded sandbox's database, the record of
custom-properties uploads) stays out of git: export gives a new repository its .gitignore, and
never edits a user's own. End to end through the CLI, with real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.export import ignores_state
from tests.helpers.cli import against, run
from tests.helpers.sandbox import SandboxOrg

CSV = "repo,team\nacme/api,payments\nacme/web,search\n"


@pytest.fixture(autouse=True)
def plain_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git settings (a user's excludesFile) in these tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=directory, check=True, capture_output=True, text=True)
    return done.stdout


def test_export_into_a_new_repository_keeps_the_local_state_out_of_git(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    sandbox_org.guardrail("Project budget", scope="PROJECT", totalThreshold=100)
    flags, env = against(sandbox_org)
    gov = tmp_path / "gov"
    gov.mkdir()
    git(gov, "init", "-q")
    code, out, err = run("export", *flags, "-o", "gov", cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert out.splitlines()[:2] == [
        f"Exported 0 TaggingPolicy, 1 Guardrail of org {sandbox_org.org} to gov/ (3 files).",
        "Wrote gov/.gitignore: .reconciler/ (local state) stays out of git.",
    ]
    # the export's hint followed: custom properties, then apply writes the upload record
    (gov / "data").mkdir()
    (gov / "data" / "custom_properties.csv").write_text(CSV)
    (gov / "custom-properties.yaml").write_text(
        "kind: CustomProperties\nfile: data/custom_properties.csv\n"
    )
    code, out, err = run("apply", "--auto-approve", cwd=gov, env=env)
    assert code == 0 and "uploaded CustomProperties" in out, out + err
    assert (gov / ".reconciler" / "custom-properties.json").is_file()
    git(gov, "add", "-A")
    assert git(gov, "ls-files").split() == [
        ".gitignore",
        "custom-properties.yaml",
        "data/custom_properties.csv",
        "guardrails/project-budget.yaml",
        "reconciler.yaml",
    ]
    code, out, err = run("export", *flags, "-o", "gov", "--force", cwd=tmp_path, env=env)
    assert code == 0 and ".gitignore" not in out, out + err  # ours already: nothing to say
    writes = sandbox_org.writes()
    code, out, err = run("plan", "--detailed-exitcode", cwd=gov, env=env)
    assert code == 0 and out.endswith("No changes.\n"), out + err
    assert sandbox_org.writes() == writes


def test_a_users_gitignore_is_never_edited_and_a_missing_line_is_said(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    gov = tmp_path / "gov"
    gov.mkdir()
    (gov / ".gitignore").write_text("*.log\n")
    code, out, err = run("export", *flags, "-o", "gov", cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert (
        "note: gov/.gitignore does not ignore .reconciler/ (local state: the sandbox database, "
        "the record of custom-properties uploads); add the line .reconciler/ to it"
    ) in out.splitlines()
    assert (gov / ".gitignore").read_text() == "*.log\n"


def test_a_directory_that_git_ignores_already_gets_no_gitignore(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """A policy repository holding several directories: its top .gitignore is enough."""
    flags, env = against(sandbox_org)
    git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text(".reconciler/\n")
    code, out, err = run("export", *flags, "-o", "orgs/acme", cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert ".gitignore" not in out
    assert not (tmp_path / "orgs" / "acme" / ".gitignore").exists()


@pytest.mark.parametrize(
    ("text", "ignores"),
    [
        (".reconciler/\n", True),
        ("*.log\n/.reconciler\n", True),
        ("  **/.reconciler/  \n", True),
        ("# .reconciler/\n", False),
        (".reconciler-old/\n", False),
        ("", False),
    ],
)
def test_ignores_state(text: str, ignores: bool) -> None:
    assert ignores_state(text) is ignores

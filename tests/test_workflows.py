"""The GitHub workflows: their hardening, read from the YAML, and their ``run:`` steps run for
real (tests/helpers/workflow_runner.py) against the fake GitHub and the embedded sandbox of
``examples/``.

In this repository the "live API" of the workflows is the sandbox database that apply.yml and
drift.yml carry from run to run as an artifact, so a change "made in the UI" is a change to the
database of the latest state artifact, made through the sandbox API.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from reconciler.render import markdown
from reconciler.sandbox.embedded import embedded
from tests.helpers.fakegithub import FakeGitHub, serve
from tests.helpers.workflow_runner import (
    GIT,
    JobResult,
    World,
    condition,
    git,
    repository,
    run_workflow,
    unzip,
    warm_reconciler,
)

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "reconcile" / "action.yml"
# docs/github-actions.md of the project's shared docs: the only actions and commits allowed.
PINS = {
    "actions/checkout": ("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": ("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": ("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": ("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "actions/github-script": ("60a0d83039c74a4aee543508d2ffcb1c3799cdea", "v7.0.1"),
    # pull.yml's GitHub App token: the commit of the tag v2.2.2 of actions/create-github-app-token
    "actions/create-github-app-token": ("fee1f7d63c2ff003460e3d139729b119787bc349", "v2.2.2"),
}


def _yaml_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), ACTION])


def _load(path: Path) -> dict[Any, Any]:  # YAML 1.1 reads the key `on` as True
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    return data


def _steps(path: Path) -> list[tuple[str, dict[str, Any]]]:
    spec = _load(path)
    if "runs" in spec:
        return [("action", s) for s in spec["runs"]["steps"]]
    return [(name, s) for name, job in spec["jobs"].items() for s in job["steps"]]


# --- hardening, read from the YAML -------------------------------------------------------------


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: p.name)
def test_every_uses_is_pinned(path: Path) -> None:
    lines = [line.strip() for line in path.read_text().splitlines()]
    uses = [line for line in lines if re.match(r"(- )?uses:", line)]
    assert len(uses) == sum("uses" in s for _, s in _steps(path))
    for line in uses:
        value = line.split("uses:", 1)[1].strip()
        if value.startswith("./"):
            assert value.split()[0] == "./.github/actions/reconcile"
            continue
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", value)
        assert match, f"{path.name}: {line}: pin a full commit SHA with the version in a comment"
        action, sha, version = match.groups()
        assert PINS.get(action) == (sha, version), f"{path.name}: {line} is not a pinned SHA"


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_workflow_hardening(path: Path) -> None:
    spec = _load(path)
    text = path.read_text()
    assert spec["permissions"] == {}
    assert "pull_request_target" not in text
    for name, job in spec["jobs"].items():
        assert "permissions" in job, f"{name}: least privilege per job"
        assert "write-all" not in str(job["permissions"]) and "read-all" not in str(
            job["permissions"]
        )
        uses_secret = "secrets.INFRACOST_SERVICE_TOKEN" in yaml.safe_dump(job)
        assert not uses_secret or job.get("environment"), (
            f"{name}: the token lives in the environment"
        )
    for _, step in _steps(path):
        assert "${{" not in step.get("run", ""), f"{path.name}: pass expressions through env:"
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_action_hardening() -> None:
    for _, step in _steps(ACTION):
        assert "${{" not in step.get("run", "")
        assert step["shell"] == "bash"
    assert "GITHUB_PATH" not in ACTION.read_text() and "GITHUB_ENV" not in ACTION.read_text()


# The action's install step, run for real with a stand-in python3 whose venv has a pip that
# records its arguments (a real install takes too long for the suite).
_PIP = f"""#!{sys.executable}
import pathlib, sys
bin_dir = pathlib.Path(sys.argv[0]).parent
(bin_dir.parent / "pip-args").write_text("\\n".join(sys.argv[1:]))
(bin_dir / "reconciler").write_text("#!/bin/sh\\necho reconciler 0.1.0\\n")
(bin_dir / "reconciler").chmod(0o755)
"""
_PYTHON3 = f"""#!{sys.executable}
import pathlib, sys
assert sys.argv[1:3] == ["-m", "venv"], sys.argv
bin_dir = pathlib.Path(sys.argv[3]) / "bin"
bin_dir.mkdir(parents=True)
(bin_dir / "pip").write_text({_PIP!r})
(bin_dir / "pip").chmod(0o755)
"""


def _install(tmp_path: Path, action_path: Path) -> subprocess.CompletedProcess[str]:
    [(_, step), _] = _steps(ACTION)
    assert step["id"] == "install" and "env" not in step
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "python3").write_text(_PYTHON3)
    (stubs / "python3").chmod(0o755)
    (tmp_path / "temp").mkdir()
    (tmp_path / "step.sh").write_text(step["run"])
    env = {
        "PATH": f"{stubs}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_ACTION_PATH": str(action_path),
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "step.sh")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_action_installs_reconciler_from_its_own_repository(tmp_path: Path) -> None:
    """uses: ORG/REPO/.github/actions/reconcile@SHA installs REPO at SHA: the directory three
    levels up from the action, never a name from a package index (where "reconciler" is another
    project)."""
    proc = _install(tmp_path, ACTION.parent)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "reconciler 0.1.0\n"
    args = (tmp_path / "temp" / "reconciler-venv" / "pip-args").read_text().splitlines()
    assert args == ["install", "--quiet", "--disable-pip-version-check", str(ROOT)]
    assert "version" not in _load(ACTION)["inputs"]


def test_the_action_refuses_to_run_from_a_repository_that_is_not_reconciler(
    tmp_path: Path,
) -> None:
    """A policy repository that copied the action instead of pointing at reconciler's: a clear
    error, and nothing installed."""
    policies = tmp_path / "policies"
    shutil.copytree(ACTION.parent, policies / ".github" / "actions" / "reconcile")
    (policies / "pyproject.toml").write_text('[project]\nname = "reconciler"\n')
    proc = _install(tmp_path, policies / ".github" / "actions" / "reconcile")
    assert proc.returncode == 1
    assert proc.stdout == (
        f"::error title=reconciler::{policies} is not a copy of the reconciler repository: use "
        "the action as uses: ORG/REPO/.github/actions/reconcile@COMMIT, where ORG/REPO is your "
        "copy of reconciler (docs/github.md)\n"
    )
    assert not (tmp_path / "temp" / "reconciler-venv").exists()


def test_the_distribution_is_not_named_like_the_pypi_project_reconciler() -> None:
    """The name on PyPI belongs to an unrelated project; the action checks for ours."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "governance-reconciler"
    assert project["scripts"] == {"reconciler": "reconciler.cli:main"}
    assert f"'name = \"{project['name']}\"'" in ACTION.read_text()


def test_ci_runs_what_ci_run_runs() -> None:
    [(_, step)] = [s for s in _steps(WORKFLOWS / "ci.yml") if "run" in s[1]]
    assert step["run"].strip() == "bash .ci/run"


def test_triggers_environment_and_concurrency() -> None:
    plan, apply, drift = (_load(WORKFLOWS / f"{n}.yml") for n in ("plan", "apply", "drift"))
    assert set(plan[True]) == {"pull_request"}  # YAML 1.1 reads `on` as True
    assert set(apply[True]) == {"push", "workflow_dispatch"}
    assert apply[True]["push"]["branches"] == ["main"]
    assert set(drift[True]) == {"schedule", "workflow_dispatch"}
    for spec in (apply, drift):
        [job] = spec["jobs"].values()
        assert job["environment"] == "${{ matrix.dir }}"
        assert job["concurrency"] == {  # one group per org (RECONCILER_ORGS), else per dir
            "group": "reconciler-${{ fromJSON(vars.RECONCILER_ORGS || '{}')[matrix.dir] "
            "|| matrix.dir }}",
            "cancel-in-progress": False,
        }
    for spec in (plan, apply, drift):
        [job] = spec["jobs"].values()
        assert job["strategy"]["matrix"]["dir"] == (
            "${{ fromJSON(vars.RECONCILER_DIRS || '[\"examples\"]') }}"
        )
    [plan_job] = plan["jobs"].values()
    assert "environment" not in plan_job
    assert plan_job["permissions"] == {
        "contents": "read",
        "actions": "read",
        "pull-requests": "write",
    }


_ON_THE_DEFAULT_BRANCH = (
    "github.event_name == 'schedule' || "
    "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
)


@pytest.mark.parametrize(
    ("event_name", "ref", "runs"),
    [
        ("push", "refs/heads/trunk", True),
        ("workflow_dispatch", "refs/heads/trunk", True),
        ("schedule", "refs/heads/trunk", True),  # its event names no repository
        ("push", "refs/heads/main", False),  # not the default branch here
        ("workflow_dispatch", "refs/heads/feature", False),
        ("workflow_dispatch", "refs/tags/trunk", False),
    ],
)
def test_jobs_that_hold_secrets_run_on_the_default_branch_only(
    event_name: str, ref: str, runs: bool
) -> None:
    """The default branch is the repository's (here trunk), read from the event; a schedule
    runs on it by GitHub's rule."""
    event = {} if event_name == "schedule" else {"repository": {"default_branch": "trunk"}}
    github = {"event_name": event_name, "ref": ref, "event": event}
    context = {"github": github, "vars": {"RECONCILER_PULL_DIRS": '["examples"]'}}
    for name in ("apply", "drift", "pull"):
        [job] = _load(WORKFLOWS / f"{name}.yml")["jobs"].values()
        if name != "apply":
            assert _ON_THE_DEFAULT_BRANCH in job["if"]
        assert condition(job["if"], context, "success") == runs or (
            name == "apply" and event_name == "schedule"  # apply has no schedule
        )


def test_no_branch_is_named_but_in_triggers() -> None:
    """Only `on: push: branches:` names a branch (a trigger cannot read the default branch);
    every condition, command and input takes it from the repository."""
    for path in _yaml_files():
        spec = {k: v for k, v in _load(path).items() if k is not True}  # YAML 1.1: on is True
        text = yaml.safe_dump(spec)  # no comments
        assert not re.search(r"\bmain\b", text), f"{path.name} names main"
        assert not re.search(r"github download [^\n]*--branch", text)  # its default


# --- the flow, run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reconciler_command(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ...]]:
    """What the action's shim runs: a client of one warm reconciler for the module (each command
    is still its own process, forked with the step's arguments, environment and streams)."""
    with warm_reconciler(tmp_path_factory.mktemp("forkserver"), ROOT / "examples") as command:
        yield command


@pytest.fixture
def world(tmp_path: Path, reconciler_command: tuple[str, ...]) -> Iterator[World]:
    origin, _ = repository(tmp_path)
    with serve(FakeGitHub()) as fake:
        yield World(tmp_path / "runs", origin, fake, reconciler=reconciler_command)


def _commit(world: World, branch: str, edit: Callable[[Path], None], base: str = "main") -> str:
    work = world.origin.parent / "work"
    if _has_head(work):
        git(work, "checkout", "-q", "-B", branch, f"origin/{base}")
    edit(work)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"change on {branch}")
    git(work, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{branch}")
    git(work, "fetch", "-q", "origin")
    return git(work, "rev-parse", "HEAD")


def _has_head(work: Path) -> bool:
    return (
        subprocess.run(
            [*GIT, "-C", str(work), "rev-parse", "-q", "--verify", "HEAD"], capture_output=True
        ).returncode
        == 0
    )


def _replace(path: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(work: Path) -> None:
        file = work / path
        text = file.read_text()
        assert old in text
        file.write_text(text.replace(old, new))

    return edit


def _run(world: World, name: str, **kwargs: Any) -> JobResult:
    [job] = run_workflow(world, WORKFLOWS / f"{name}.yml", **kwargs)
    return job


def _ok(job: JobResult) -> JobResult:
    assert job.status == "success", job.logs()
    return job


def _push(world: World, sha: str, before: str) -> JobResult:
    event = {"ref": "refs/heads/main", "before": before, "after": sha}
    return _run(world, "apply", event_name="push", event=event, sha=sha, ref="refs/heads/main")


def _pull_request(world: World, number: int, sha: str, *, fork: bool = False) -> JobResult:
    head_repo = "someone/policies" if fork else world.github.repository
    event = {
        "pull_request": {
            "number": number,
            "head": {"sha": sha, "repo": {"full_name": head_repo}},
            "base": {"ref": "main"},
        }
    }
    return _run(
        world,
        "plan",
        event_name="pull_request",
        event=event,
        sha=sha,
        ref=f"refs/pull/{number}/merge",
        base_ref="main",
    )


def _drift(world: World, sha: str) -> JobResult:
    return _run(world, "drift", event_name="schedule", event={}, sha=sha, ref="refs/heads/main")


def _change_live(world: World, name: str, attributes: dict[str, Any]) -> None:
    """A change "in the UI": through the sandbox API, on the state the next run restores."""
    artifact = "reconciler-state-examples"
    state = world.root / "ui-state"
    shutil.rmtree(state, ignore_errors=True)
    for path, data in world.artifacts[artifact].items():
        (state / path).parent.mkdir(parents=True, exist_ok=True)
        (state / path).write_bytes(data)
    with embedded(state / "sandbox.db", "acme") as endpoint, requests.Session() as http:
        http.trust_env = False
        http.headers["Authorization"] = f"Bearer {endpoint.token}"
        url = f"{endpoint.base_url}/orgs/acme/guardrails"
        [found] = [
            g for g in http.get(url, timeout=10).json()["data"] if g["attributes"]["name"] == name
        ]
        body = {"data": {"type": "guardrails", "id": found["id"], "attributes": attributes}}
        assert http.patch(f"{url}/{found['id']}", json=body, timeout=10).ok
    files = {
        p.relative_to(state).as_posix(): p.read_bytes() for p in state.rglob("*") if p.is_file()
    }
    world.github.add_artifact(world.github.add_run(event="push"), artifact, files)
    world.artifacts[artifact] = files


def _events(world: World) -> list[str]:
    text = world.artifacts["reconciler-events-examples"]["events.jsonl"].decode()
    return [line for line in text.splitlines() if line.strip()]


def test_the_flow_pull_request_merge_apply_drift(world: World) -> None:
    fake = world.github
    c0 = _commit(world, "main", lambda work: None)

    # the first push to main: everything is created, then snapshot and state are kept
    job = _ok(_push(world, c0, "0" * 40))
    assert job.environment == "examples"
    assert job.step("apply").outputs["exitcode"] == "0"
    assert sum('"event": "created"' in e for e in _events(world)) == 5
    assert job.summary.startswith("### Apply complete: 6 applied, 0 failed, 0 skipped")
    assert job.step("Report on the merged pull request").log.endswith(
        f"No pull request was merged as {c0}: no comment.\n"
    )
    assert set(world.artifacts["reconciler-state-examples"]) == {
        "sandbox.db",
        "custom-properties.json",
    }

    # a pull request: planned against the snapshot, one comment, edited on the next push
    number = fake.add_pull_request()
    budget = "examples/guardrails/project-budget.yaml"
    c1 = _commit(world, "raise", _replace(budget, "totalThreshold: 25000", "totalThreshold: 30000"))
    job = _ok(_pull_request(world, number, c1))
    [comment] = fake.comments(number)
    lines = comment["body"].splitlines()
    assert lines[0] == markdown.marker("examples", "acme")
    assert lines[1] == "### Plan: 0 to add, 1 to change, 0 to destroy (1 loosening)"
    assert f"planned at [`{c1[:7]}`](https://github.example/acme/policies/commit/{c1})" in lines[3]
    # the snapshot's webhook reference is compared, not the secret the job does not hold
    assert "webhookUrl" not in comment["body"].split("#### Warnings")[0]
    assert "totalThreshold: 25000 -> 30000" in comment["body"]
    assert "### Plan: 0 to add, 1 to change, 0 to destroy" in job.summary
    assert "reconciler-plan-examples" in world.artifacts
    assert not fake.sent("GET", "/_storage/")[0].authorized

    c2 = _commit(
        world,
        "raise",
        _replace(budget, "increasePercentThreshold: 20", "increasePercentThreshold: 25"),
        base="raise",
    )
    _ok(_pull_request(world, number, c2))
    [comment] = fake.comments(number)
    assert comment["edits"] == 1
    assert f"planned at [`{c2[:7]}`]" in comment["body"]
    assert "increasePercentThreshold: 20 -> 25" in comment["body"]

    # merge: apply applies, from main
    work = world.origin.parent / "work"
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--ff-only", "origin/raise")
    git(work, "push", "-q", "origin", "main")
    fake.merge(number, c2)
    job = _ok(_push(world, c2, c0))
    assert next(e for e in _events(world) if '"updated"' in e).startswith(
        '{"event": "updated", "kind": "Guardrail", "name": "Project budget"'
    )
    assert job.summary.startswith("### Apply complete: 1 applied, 0 failed, 0 skipped")
    assert len(fake.comments(number)) == 1  # success: no report on the pull request

    # the schedule: no drift, no issue, the daily upload of the custom properties
    job = _ok(_drift(world, c2))
    assert job.step("plan").outputs["exitcode"] == "0"
    assert job.step("issue").log.splitlines()[-1] == "No drift: no open drift issue."
    assert job.step("Upload the custom properties (daily sync)").outcome == "success"
    assert '"event": "uploaded"' in job.step("Upload the custom properties (daily sync)").log
    assert not fake.issues()

    # a change made outside the files: the drift issue opens, the sync waits
    _change_live(world, "Project budget", {"totalThreshold": 99999})
    job = _ok(_drift(world, c2))
    assert job.step("plan").outputs["exitcode"] == "2"
    assert job.step("issue").outputs == {"drift": "true", "changes": "true", "issue": "2"}
    assert job.step("Upload the custom properties (daily sync)").outcome == "skipped"
    [issue] = fake.issues()
    assert issue["state"] == "open" and issue["labels"] == [{"name": "reconciler-drift"}]
    assert "totalThreshold: 99999 -> 30000" in issue["body"]

    # the next apply undoes it, and the next check closes the issue
    dispatch = {"ref": "refs/heads/main"}
    job = _ok(
        _run(
            world,
            "apply",
            event_name="workflow_dispatch",
            event=dispatch,
            sha=c2,
            ref="refs/heads/main",
        )
    )
    assert job.step("Report on the merged pull request").outcome == "skipped"
    assert job.summary.startswith("### Apply complete: 1 applied")
    job = _ok(_drift(world, c2))
    assert job.step("plan").outputs["exitcode"] == "0"
    [issue] = fake.issues()
    assert issue["state"] == "closed"
    assert job.step("issue").log.splitlines()[-1].startswith("No drift: closed issue #2")


def test_a_repository_whose_default_branch_is_trunk(world: World) -> None:
    """apply runs on trunk, and pull requests plan against the snapshot saved there; a push to
    a branch called main starts nothing."""
    world.github.default_branch = "trunk"
    c0 = _commit(world, "trunk", lambda work: None)
    push = {"ref": "refs/heads/main", "before": "0" * 40, "after": c0}
    assert (
        run_workflow(
            world, WORKFLOWS / "apply.yml", event_name="push", event=push, sha=c0, ref=push["ref"]
        )
        == []
    )
    push["ref"] = "refs/heads/trunk"
    job = _ok(_run(world, "apply", event_name="push", event=push, sha=c0, ref=push["ref"]))
    assert job.summary.startswith("### Apply complete: 6 applied")

    number = world.github.add_pull_request()
    budget = "examples/guardrails/project-budget.yaml"
    edit = _replace(budget, "totalThreshold: 25000", "totalThreshold: 30000")
    c1 = _commit(world, "raise", edit, base="trunk")
    event = {
        "pull_request": {
            "number": number,
            "head": {"sha": c1, "repo": {"full_name": world.github.repository}},
            "base": {"ref": "trunk"},
        }
    }
    job = _ok(
        _run(
            world,
            "plan",
            event_name="pull_request",
            event=event,
            sha=c1,
            ref=f"refs/pull/{number}/merge",
            base_ref="trunk",
        )
    )
    snapshot = job.step("snapshot")
    assert snapshot.outcome == "success"
    assert "Downloaded reconciler-snapshot-examples (1 file)" in snapshot.log
    assert "### Plan: 0 to add, 1 to change, 0 to destroy (1 loosening)" in job.summary


def test_the_webhook_secrets_block_is_the_one_the_docs_show() -> None:
    """One env block per job that plans or applies, the same in apply.yml and drift.yml, and
    the example of docs/github.md is that block."""
    docs = (ROOT / "docs" / "github.md").read_text()
    section = docs.split("### Webhook URLs and other fromEnv secrets", 1)[1]
    [block] = re.findall(r"```yaml\n(    env:\n.*?)```", section, re.DOTALL)[:1]
    shown = yaml.safe_load(block)["env"]
    assert shown == {"FINOPS_SLACK_WEBHOOK": "${{ secrets.FINOPS_SLACK_WEBHOOK }}"}
    for name in ("apply", "drift"):
        [job] = _load(WORKFLOWS / f"{name}.yml")["jobs"].values()
        assert job["env"] == shown, name
        for step in job["steps"]:  # named once: no step repeats it
            assert not set(step.get("env") or {}) & set(shown), (name, step.get("name"))
    for name in ("plan", "pull"):  # pull requests hold no secret; pull does not plan
        assert "FINOPS_SLACK_WEBHOOK" not in (WORKFLOWS / f"{name}.yml").read_text()
    used = (ROOT / "examples" / "guardrails" / "production-pr-limit.yaml").read_text()
    assert "{fromEnv: FINOPS_SLACK_WEBHOOK" in used


def _live_webhook(world: World, name: str) -> str:
    """The webhook of a guardrail in the sandbox database that the last state artifact holds."""
    state = world.root / "read-state"
    shutil.rmtree(state, ignore_errors=True)
    for path, data in world.artifacts["reconciler-state-examples"].items():
        (state / path).parent.mkdir(parents=True, exist_ok=True)
        (state / path).write_bytes(data)
    with embedded(state / "sandbox.db", "acme") as endpoint, requests.Session() as http:
        http.trust_env = False
        http.headers["Authorization"] = f"Bearer {endpoint.token}"
        answer = http.get(f"{endpoint.base_url}/orgs/acme/guardrails", timeout=10).json()
    [found] = [g for g in answer["data"] if g["attributes"]["name"] == name]
    return str(found["attributes"]["webhookUrl"])


def test_a_webhook_secret_of_the_environment_reaches_apply_and_drift(world: World) -> None:
    """The secret named in the job's env block: apply sends it, the drift check compares with
    it (no drift), and no log, summary or artifact other than the sandbox's own database
    shows it."""
    hook = "https://hooks.slack.com/services/T0000/B0000/s3cr3tw3bh00k"
    world.secrets["FINOPS_SLACK_WEBHOOK"] = hook
    c0 = _commit(world, "main", lambda work: None)
    applied = _ok(_push(world, c0, "0" * 40))
    assert _live_webhook(world, "Production cost increase") == hook
    drift = _ok(_drift(world, c0))
    assert drift.step("plan").outputs["exitcode"] == "0"  # without the secret: a change to ""
    for job in (applied, drift):
        assert hook not in job.logs() and hook not in job.summary
    for artifact, files in world.artifacts.items():
        for path, data in files.items():
            assert path == "sandbox.db" or hook.encode() not in data, (artifact, path)


def _add_guardrail_with_a_missing_secret(work: Path) -> None:
    (work / "examples" / "guardrails" / "hooked.yaml").write_text(
        "kind: Guardrail\nname: Hooked\nscope: PULL_REQUEST\nincreaseThreshold: 10\n"
        "message: Costs go up.\nwebhookUrl: {fromEnv: ACME_MISSING_HOOK}\n"
    )


def test_a_failed_apply_reports_on_the_merged_pull_request(world: World) -> None:
    fake = world.github
    c0 = _commit(world, "main", lambda work: None)
    _ok(_push(world, c0, "0" * 40))
    number = fake.add_pull_request()
    c1 = _commit(world, "hook", _add_guardrail_with_a_missing_secret)
    _ok(_pull_request(world, number, c1))

    # a refused plan fails the check, and the comment says why
    def delete_all(work: Path) -> None:
        for file in (work / "examples" / "guardrails").glob("*.yaml"):
            name = yaml.safe_load(file.read_text())["name"]
            file.write_text(f"kind: Guardrail\nname: {name}\nabsent: true\n")

    refused = _pull_request(world, number, _commit(world, "hook", delete_all, base="hook"))
    assert refused.status == "failure", refused.logs()
    [comment] = fake.comments(number)
    assert (
        comment["body"]
        .splitlines()[1]
        .startswith("### Plan refused (1 problem): would add 0, change 0, destroy 2")
    )
    assert "> - `Set allowMassDelete: true in reconciler.yaml" in comment["body"]

    work = world.origin.parent / "work"
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--ff-only", c1)
    git(work, "push", "-q", "origin", "main")
    fake.merge(number, c1)
    job = _push(world, c1, c0)
    assert job.status == "failure", job.logs()
    assert job.step("apply").outputs["exitcode"] == "1"
    assert job.summary.startswith("### Apply failed: 0 applied, 1 failed, 0 skipped")
    report = [c for c in fake.comments(number) if "reconciler:apply" in c["body"]]
    assert len(report) == 1
    assert report[0]["body"].splitlines()[1] == "### Apply failed: 0 applied, 1 failed, 0 skipped"
    assert "ACME_MISSING_HOOK" in report[0]["body"]
    assert job.step("snapshot").outcome == "success"  # pull requests still plan against the truth


def test_a_fork_gets_a_real_plan_without_a_comment(world: World) -> None:
    fake = world.github
    c0 = _commit(world, "main", lambda work: None)
    _ok(_push(world, c0, "0" * 40))
    number = fake.add_pull_request(fork=True)
    budget = "examples/guardrails/project-budget.yaml"
    c1 = _commit(world, "fork", _replace(budget, "blockPr: false", "blockPr: true"))
    world.vars["RECONCILER_PLAN_SOURCE"] = "api"  # opted in, but a fork has no secrets
    job = _ok(_pull_request(world, number, c1, fork=True))
    assert job.step("snapshot").outcome == "success"
    assert job.step("Comment on the pull request").outcome == "skipped"
    assert "### Plan: 0 to add, 1 to change, 0 to destroy (1 tightening)" in job.summary
    assert "Pull requests from forks get a read-only token" in job.summary
    assert not fake.comments(number)
    saved = unzip(fake.state.blobs[max(fake.state.artifacts)])
    assert set(saved) == {"plan.json"}


def test_cancelling_reaches_apply(tmp_path: Path) -> None:
    """GitHub signals the step's shell only: the action passes it on, and apply's own summary
    (and exit code 130) still come out."""
    stub = tmp_path / "reconciler-venv" / "bin" / "reconciler"
    stub.parent.mkdir(parents=True)
    stub.write_text(
        f"#!{sys.executable}\n"
        "import signal, sys, time\n"
        "stop = []\n"
        "signal.signal(signal.SIGTERM, lambda *a: stop.append(1))\n"
        "print('started', file=sys.stderr, flush=True)\n"
        "for _ in range(100):\n"
        "    if stop:\n"
        '        print(\'{"event": "summary", "interrupted": true}\')\n'
        "        sys.exit(130)\n"
        "    time.sleep(0.05)\n"
    )
    stub.chmod(0o755)
    [_, (_, step)] = _steps(ACTION)
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "RUNNER_TEMP": str(tmp_path),
        "MODE": "apply",
        "DIR": "examples",
        "OUT": str(tmp_path / "events.jsonl"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }
    proc = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == "started\n"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert out == '{"event": "summary", "interrupted": true}\n'
    assert (tmp_path / "output").read_text() == "exitcode=130\n"

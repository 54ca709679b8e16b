""".github/workflows/pull.yml: its hardening, read from the YAML, and its ``run:`` steps run for
real (tests/helpers/workflow_runner.py) against the fake GitHub, with the test's origin as a
local bare repository that the job pushes its branch to.

Two worlds:

- a stand-in ``reconciler pull`` (every other command is the real one) that reads its "source"
  from a file outside the repository, as a ServiceNow table would be, and records which
  secrets each command was given: the workflow's plumbing, token by token (GitHub App,
  fine-grained token, GITHUB_TOKEN);
- the real ``reconciler pull`` against the sandbox ServiceNow (``instance: sandbox``, a table
  served from a CSV the test changes on main): the whole flow, end to end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.fakegithub import FakeGitHub, serve
from tests.helpers.sandbox import ServiceNowServer
from tests.helpers.workflow_runner import (
    JobResult,
    World,
    git,
    repository,
    run_workflow,
    warm_reconciler,
)

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "pull.yml"
BRANCH = "reconciler/pull-examples"
CSV = "examples/data/servicenow-apps.csv"
MARKER = "<!-- reconciler:pull dir=examples -->"
SERVICENOW = {"SERVICENOW_USER": "svc-reconciler", "SERVICENOW_PASSWORD": "sn-pass-7f3a9c"}
APP_TOKEN = "ghs_" + "a" * 36
PERSONAL_TOKEN = "github_pat_" + "p" * 40


def _load() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())  # `on` reads as True
    return data


def _steps() -> list[dict[str, Any]]:
    [job] = _load()["jobs"].values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _step(name: str) -> dict[str, Any]:
    return next(s for s in _steps() if name in (s.get("id"), s.get("name")))


# --- hardening, read from the YAML -------------------------------------------------------------


def test_triggers_permissions_concurrency() -> None:
    spec = _load()
    assert set(spec[True]) == {"schedule", "workflow_dispatch"}
    assert spec["permissions"] == {}
    [job] = spec["jobs"].values()
    assert job["if"] == (
        "(github.event_name == 'schedule' || github.ref == format('refs/heads/{0}', "
        "github.event.repository.default_branch)) && vars.RECONCILER_PULL_DIRS != ''"
    )
    assert job["strategy"]["matrix"]["dir"] == "${{ fromJSON(vars.RECONCILER_PULL_DIRS) }}"
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["concurrency"] == {
        "group": "reconciler-pull-${{ matrix.dir }}",
        "cancel-in-progress": False,
    }
    assert job["environment"] == "${{ matrix.dir }}"


def test_each_secret_reaches_only_the_step_that_uses_it() -> None:
    def where(name: str) -> list[str]:
        return [
            s.get("id") or s["name"] for s in _steps() if f"secrets.{name}" in yaml.safe_dump(s)
        ]

    assert where("SERVICENOW_USER") == where("SERVICENOW_PASSWORD") == ["pull"]
    assert where("SERVICENOW_TOKEN") == ["pull"]
    assert where("RECONCILER_PULL_APP_PRIVATE_KEY") == ["auth", "app"]
    assert where("RECONCILER_PULL_TOKEN") == [
        "auth",
        "Commit to the branch",
        "Open or update the pull request",
        "Close the pull request",
    ]
    [job] = _load()["jobs"].values()
    assert "env" not in job and "env" not in _load()
    # the auth step sees whether a secret is set, never its value
    assert _step("auth")["env"] == {
        "APP": "${{ secrets.RECONCILER_PULL_APP_ID != '' && "
        "secrets.RECONCILER_PULL_APP_PRIVATE_KEY != '' }}",
        "TOKEN": "${{ secrets.RECONCILER_PULL_TOKEN != '' }}",
    }
    assert "GITHUB_TOKEN" not in _step("pull").get("env", {})
    assert "github.token" not in yaml.safe_dump(_step("pull"))


def test_the_credential_helper_gives_the_token_to_git(tmp_path: Path) -> None:
    """The push's helper, run by git itself: the token from the environment, for "get" only."""
    [helper] = re.findall(r"credential\.helper='([^']+)'", _step("Commit to the branch")["run"])
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PUSH_TOKEN": APP_TOKEN}
    fill = subprocess.run(
        [
            "git",
            "-c",
            "credential.helper=",
            "-c",
            f"credential.helper={helper}",
            "credential",
            "fill",
        ],
        input="protocol=https\nhost=github.com\npath=acme/policies.git\n\n",
        env={**env, "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert fill.stdout.splitlines() == [
        "protocol=https",
        "host=github.com",
        "username=x-access-token",
        f"password={APP_TOKEN}",
    ]


# --- the runs ----------------------------------------------------------------------------------


def _branch(world: World, branch: str = BRANCH) -> str | None:
    found = subprocess.run(
        [
            "git",
            "--git-dir",
            str(world.origin),
            "rev-parse",
            "-q",
            "--verify",
            f"refs/heads/{branch}",
        ],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() if found.returncode == 0 else None


@pytest.fixture(scope="module")
def reconciler_command(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ...]]:
    with warm_reconciler(tmp_path_factory.mktemp("forkserver"), ROOT / "examples") as command:
        yield command


@pytest.fixture
def world(tmp_path: Path, reconciler_command: tuple[str, ...]) -> Iterator[World]:
    origin, work = repository(tmp_path)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the policies")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    with serve(FakeGitHub()) as fake:
        fake.git_dir = origin
        world = World(tmp_path / "runs", origin, fake, reconciler=reconciler_command)
        world.vars["RECONCILER_PULL_DIRS"] = '["examples"]'
        yield world


def _main(world: World) -> str:
    return git(world.origin, "rev-parse", "refs/heads/main")


def _commit_on_main(world: World, path: str, text: str) -> str:
    work = world.origin.parent / "work"
    git(work, "fetch", "-q", "origin")
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"edit {path}")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    return _main(world)


def _runs(world: World, *, dispatch: bool = False) -> list[JobResult]:
    event_name = "workflow_dispatch" if dispatch else "schedule"
    return run_workflow(
        world,
        WORKFLOW,
        event_name=event_name,
        event={"ref": "refs/heads/main"} if dispatch else {},
        sha=_main(world),
        ref="refs/heads/main",
    )


def _run(world: World, *, dispatch: bool = False) -> JobResult:
    [job] = _runs(world, dispatch=dispatch)
    return job


def test_nothing_runs_without_directories_to_pull(world: World) -> None:
    del world.vars["RECONCILER_PULL_DIRS"]
    assert _runs(world) == []
    assert not world.github.requests


def _ok(job: JobResult) -> JobResult:
    assert job.status == "success", job.logs()
    return job


def _output(job: JobResult, step: str) -> str:
    """What a ``run:`` step printed (its log starts with the script)."""
    return job.step(step).log.split("\n[exit ", 1)[1].split("\n", 1)[1]


def _last_line(job: JobResult, step: str) -> str:
    return _output(job, step).rstrip("\n").splitlines()[-1]


# --- with a stand-in pull ----------------------------------------------------------------------

STANDIN = r"""
import json, os, sys
from pathlib import Path

LOG, SOURCE, REAL, SECRETS = @LOG@, @SOURCE@, @REAL@, @SECRETS@
args = sys.argv[1:]
watched = ("SERVICENOW_", "GITHUB_TOKEN")
given = sorted(k for k, v in os.environ.items() if k.startswith(watched) and v)
with open(LOG, "a") as fh:
    fh.write(json.dumps({"args": args, "given": given}) + "\n")
if args[:1] != ["pull"]:
    os.execv(REAL[0], [*REAL, *args])
directory, flags = args[1], args[2:]
if flags != ["--detailed-exitcode", "--format", "markdown"]:
    sys.exit(f"stand-in: unexpected flags {flags}")
if any(os.environ.get(k) != v for k, v in SECRETS.items()):
    sys.exit("Error: ServiceNow GET /api/now/table/cmdb_ci_business_app: 401 Unauthorized")
marker = f"<!-- reconciler:pull dir={directory} -->"
source = Path(SOURCE).read_text()
if source.startswith("REFUSE"):
    print(f"{marker}\n| `data/servicenow-apps.csv` | refused: 100% fewer rows |")
    sys.exit("Error: the pull was refused: no file was written")
target = Path(directory) / "data" / "servicenow-apps.csv"
before = target.read_text()
if before == source:
    print(f"{marker}\nNo changes: every file matches its source.")
    sys.exit(0)
old, new = set(before.splitlines()[1:]), set(source.splitlines()[1:])
target.write_text(source)
row = f"| `data/servicenow-apps.csv` | +{len(new - old)} -{len(old - new)} |"
print(f"{marker}\n| file | change |\n|---|---|\n{row}")
sys.exit(2)
"""


class StandIn:
    """The stand-in's source (a CSV outside the repository) and its record of calls."""

    def __init__(self, world: World, tmp_path: Path) -> None:
        self.source = tmp_path / "servicenow-table.csv"
        self.log = tmp_path / "calls.jsonl"
        self.source.write_text((ROOT / CSV).read_text())
        script = tmp_path / "reconciler-standin.py"
        values = {"LOG": self.log, "SOURCE": self.source, "REAL": world.reconciler}
        text = STANDIN.replace("@SECRETS@", json.dumps(SERVICENOW))
        for key, value in values.items():
            text = text.replace(
                f"@{key}@", json.dumps(str(value) if isinstance(value, Path) else value)
            )
        script.write_text(text)
        world.reconciler = (sys.executable, str(script))
        world.secrets.update(SERVICENOW)

    def edit(self, old: str, new: str) -> None:
        text = self.source.read_text()
        assert old in text
        self.source.write_text(text.replace(old, new))

    def calls(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines]


@pytest.fixture
def standin(world: World, tmp_path: Path) -> StandIn:
    return StandIn(world, tmp_path)


FIRST_ROW = (
    "bc8960a923b8c1e9392456de3eb13b90,APP-00018,Pricing API,Retail,b.nguyen@acme-inc.com,Pipeline"
)


def test_open_update_leave_alone_close(world: World, standin: StandIn) -> None:
    fake = world.github
    c0 = _main(world)
    assert FIRST_ROW in standin.source.read_text()

    # nothing changed: nothing happens (no branch, no pull request)
    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "0"
    assert job.step("Commit to the branch").outcome == "skipped"
    assert _last_line(job, "Close the pull request") == "none"
    assert _branch(world) is None and not fake.pulls()
    assert job.summary.startswith(f"{MARKER}\nNo changes")
    assert _output(job, "auth").startswith("::warning title=reconciler pull::no GitHub App (")
    assert job.step("app").outcome == "skipped"

    # the source changes: one branch, one pull request, its body the pull's markdown
    standin.edit(
        FIRST_ROW,
        FIRST_ROW.replace("APP-00018", "APP-00019")
        + "\nnew-sys-id,APP-09999,New App,Retail,x@acme-inc.com,Operational",
    )
    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "2"
    assert _output(job, "pull") == f" M {CSV}\n"
    opened = _last_line(job, "Open or update the pull request")
    assert opened == f"opened #1 https://github.example/{fake.repository}/pull/1"
    [pull] = fake.pulls()
    assert pull["title"] == "reconciler pull: examples from its sources"
    assert pull["body"] == (
        f"{MARKER}\n| file | change |\n|---|---|\n| `data/servicenow-apps.csv` | +2 -1 |"
    )
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (BRANCH, "main")
    assert pull["user"]["login"] == "github-actions[bot]"  # no App, no token: GITHUB_TOKEN
    head = _branch(world)
    assert head is not None and pull["head"]["sha"] == head
    assert git(world.origin, "rev-parse", f"{head}^") == c0  # built on main
    assert git(world.origin, "diff", "--name-only", c0, head) == CSV  # the pulled file only
    assert git(world.origin, "show", f"{head}:{CSV}") == standin.source.read_text().rstrip("\n")
    author = git(world.origin, "log", "-1", "--format=%an <%ae>|%s", head)
    assert author == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>|"
        "reconciler pull: examples from its sources"
    )
    config = (job.workspace / ".git" / "config").read_text()
    assert fake.token not in config and "extraheader" not in config

    # the next day, nothing new: the same commit (no push, no new checks), the same pull request
    job = _ok(_run(world))
    assert _branch(world) == head
    assert _last_line(job, "Open or update the pull request") == "unchanged #1"
    assert not fake.sent("PATCH", "/pulls/")

    # the source changes again: the branch is rebuilt, the pull request edited, not repeated
    standin.edit(
        "New App", "New App\nother-sys-id,APP-09998,Other App,Retail,y@acme-inc.com,Operational"
    )
    job = _ok(_run(world, dispatch=True))
    assert _last_line(job, "Open or update the pull request") == "updated #1"
    [pull] = fake.pulls()
    assert pull["body"].endswith("| +3 -1 |")
    assert _branch(world) not in (None, head)
    assert len(fake.sent("POST", r"/pulls$")) == 1

    # main catches up (the file committed by hand): the pull request is closed, with a word
    c1 = _commit_on_main(world, CSV, standin.source.read_text())
    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "0"
    assert _last_line(job, "Close the pull request") == "closed #1"
    [pull] = fake.pulls()
    assert pull["state"] == "closed"
    assert [c["body"] for c in fake.comments(1)] == ["The source matches main again."]
    assert c1 == _main(world)

    # and the next run does nothing
    job = _ok(_run(world))
    assert _last_line(job, "Close the pull request") == "none"
    assert len(fake.comments(1)) == 1

    # every command had what it needed and no more
    given = {tuple(c["args"][:2]): c["given"] for c in standin.calls()}
    assert given[("validate", "examples")] == []
    assert given[("pull", "examples")] == ["SERVICENOW_PASSWORD", "SERVICENOW_USER"]
    assert given[("github", "pull-request")] == ["GITHUB_TOKEN"]
    for run in world.root.iterdir():
        assert SERVICENOW["SERVICENOW_PASSWORD"] not in "".join(
            p.read_text(errors="replace")
            for p in run.rglob("*")
            if p.is_file() and ".git" not in p.parts
        )


def test_a_refused_pull_fails_and_touches_nothing(world: World, standin: StandIn) -> None:
    fake = world.github
    standin.edit(FIRST_ROW, FIRST_ROW.replace("Pipeline", "Operational"))
    _ok(_run(world))
    head = _branch(world)
    [pull] = fake.pulls()

    standin.source.write_text("REFUSE")
    job = _run(world)
    assert job.status == "failure"
    assert job.step("pull").outputs["exitcode"] == "1"
    log = _output(job, "pull")
    assert "refused: 100% fewer rows" in log  # the body, shown in the log
    assert "::error::reconciler pull refused or failed (exit 1): no file was written" in log
    assert "Error: the pull was refused" in log
    for step in (
        "Commit to the branch",
        "Open or update the pull request",
        "Close the pull request",
    ):
        assert job.step(step).outcome == "skipped"
    assert _branch(world) == head
    assert fake.pulls() == [pull] and pull["state"] == "open"

    # wrong credentials: the same
    world.secrets["SERVICENOW_PASSWORD"] = "wrong"
    standin.source.write_text((ROOT / CSV).read_text())
    job = _run(world)
    assert job.status == "failure" and "401 Unauthorized" in job.step("pull").log
    assert fake.pulls()[0]["state"] == "open"


@pytest.mark.parametrize("token", ["app", "token", "both"])
def test_the_pull_request_is_made_with_the_app_or_the_token(
    world: World, standin: StandIn, token: str
) -> None:
    fake = world.github
    if token in ("app", "both"):
        fake.add_token(APP_TOKEN, "acme-reconciler[bot]")
        world.app_token = APP_TOKEN
        world.secrets["RECONCILER_PULL_APP_ID"] = "123456"
        world.secrets["RECONCILER_PULL_APP_PRIVATE_KEY"] = "-----BEGIN RSA PRIVATE KEY-----\n..."
    if token in ("token", "both"):
        fake.add_token(PERSONAL_TOKEN, "octocat")
        world.secrets["RECONCILER_PULL_TOKEN"] = PERSONAL_TOKEN
    login = "octocat" if token == "token" else "acme-reconciler[bot]"

    standin.edit(FIRST_ROW, FIRST_ROW.replace("Pipeline", "Operational"))
    job = _ok(_run(world))
    assert job.step("auth").outputs["use"] == ("token" if token == "token" else "app")
    assert _output(job, "auth") == ""
    if token != "token":
        assert job.step("app").log == (
            "a token of app 123456, contents: write, pull-requests: write"
        )
    [pull] = fake.pulls()
    assert pull["user"]["login"] == login
    standin.source.write_text((ROOT / CSV).read_text())
    _ok(_run(world))
    assert fake.pulls()[0]["state"] == "closed"
    assert {r.login for r in fake.requests if "/pulls" in r.path or "/comments" in r.path} == {
        login
    }


# --- the real pull, against the sandbox ServiceNow ---------------------------------------------


def _has_pull() -> bool:
    from reconciler.commands import COMMANDS

    return "pull" in COMMANDS


# reconciler.yaml of the test's own: whatever the examples pull, these tests pull this
CONFIG = "org: acme\napi: sandbox\nprune: false\n"
SOURCES = """
sources:
  cmdb:
    servicenow:
      instance: sandbox
      fixtures: {cmdb_ci_business_app: servicenow/cmdb_ci_business_app.csv}
pull:
  - source: cmdb
    table: cmdb_ci_business_app
    fields: [app_id, name]
    file: data/business-apps.csv
"""
FIXTURE = "examples/servicenow/cmdb_ci_business_app.csv"


def _apps(*rows: tuple[str, str]) -> str:
    lines = ["sys_id,app_id,name,operational_status"]
    lines += [f"{i:032x},{app},{name},Operational" for i, (app, name) in enumerate(rows, 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(not _has_pull(), reason="reconciler pull is not there yet")
def test_the_real_pull_end_to_end(world: World) -> None:
    fake = world.github
    apps = [("APP-00001", "Billing API"), ("APP-00002", "Pricing API")]
    _commit_on_main(world, "examples/reconciler.yaml", CONFIG + SOURCES)
    _commit_on_main(
        world,
        "examples/data/business-apps.csv",
        "app_id,name\nAPP-00001,Billing API\nAPP-00002,Pricing API\n",
    )
    _commit_on_main(world, FIXTURE, _apps(*apps))

    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "0", job.logs()
    assert _last_line(job, "Close the pull request") == "none"
    assert _branch(world) is None

    # the instance gains an application and loses one
    _commit_on_main(world, FIXTURE, _apps(apps[0], ("APP-00003", "Checkout API")))
    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "2", job.logs()
    assert _last_line(job, "Open or update the pull request").startswith("opened #1 ")
    [pull] = fake.pulls()
    body = pull["body"]
    assert body.splitlines()[0] == MARKER
    assert "+1 -1" in body and "APP-00003" in body.replace("\\", "")  # escaped or not
    head = _branch(world)
    assert head is not None
    assert git(world.origin, "diff", "--name-only", f"{head}^", head) == (
        "examples/data/business-apps.csv"
    )
    assert git(world.origin, "show", f"{head}:examples/data/business-apps.csv").splitlines() == [
        "app_id,name",
        "APP-00001,Billing API",
        "APP-00003,Checkout API",
    ]

    # nothing new since: left alone
    job = _ok(_run(world))
    assert _last_line(job, "Open or update the pull request") == "unchanged #1"
    assert _branch(world) == head

    # the instance changes again: the same pull request, edited
    _commit_on_main(
        world, FIXTURE, _apps(apps[0], ("APP-00003", "Checkout API"), ("APP-00004", "Search API"))
    )
    job = _ok(_run(world))
    assert _last_line(job, "Open or update the pull request") == "updated #1"
    assert "+2 -1" in fake.pulls()[0]["body"]
    assert len(fake.pulls()) == 1

    # main catches up: the pull request is closed
    merged = git(world.origin, "show", f"{_branch(world)}:examples/data/business-apps.csv")
    _commit_on_main(world, "examples/data/business-apps.csv", merged + "\n")
    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "0", job.logs()
    assert _last_line(job, "Close the pull request") == "closed #1"
    assert fake.pulls()[0]["state"] == "closed"
    assert [c["body"] for c in fake.comments(1)] == ["The source matches main again."]


@pytest.mark.skipif(not _has_pull(), reason="reconciler pull is not there yet")
def test_the_real_pull_reads_servicenow_with_the_secrets(
    world: World, servicenow: ServiceNowServer
) -> None:
    """An instance on 127.0.0.1 (the sandbox's ServiceNow Table API), its credentials as the
    repository's secrets: they reach the pull, and nothing else."""
    fake = world.github
    config = CONFIG + (
        "sources:\n"
        "  cmdb:\n"
        "    servicenow:\n"
        f"      instance: {servicenow.url}\n"
        "      user: {fromEnv: SERVICENOW_USER}\n"
        "      password: {fromEnv: SERVICENOW_PASSWORD}\n"
        "pull:\n"
        "  - source: cmdb\n"
        "    table: cmdb_ci_business_app\n"
        "    query: install_status!=7\n"
        "    fields: [u_app_id, name]\n"
        "    file: data/business-apps.csv\n"
    )
    _commit_on_main(world, "examples/reconciler.yaml", config)

    world.secrets.update(SERVICENOW_USER=servicenow.user, SERVICENOW_PASSWORD="wrong")
    job = _run(world)
    assert job.status == "failure", job.logs()
    assert job.step("pull").outputs["exitcode"] == "1"
    assert "401" in _output(job, "pull")
    assert _branch(world) is None and not fake.pulls()

    world.secrets["SERVICENOW_PASSWORD"] = servicenow.password
    job = _ok(_run(world))
    assert job.step("pull").outputs["exitcode"] == "2", job.logs()
    assert _last_line(job, "Open or update the pull request").startswith("opened #1 ")
    [pull] = fake.pulls()
    assert pull["body"].splitlines()[0] == MARKER
    head = _branch(world)
    assert head is not None
    rows = git(world.origin, "show", f"{head}:examples/data/business-apps.csv").splitlines()
    assert rows[0] == "u_app_id,name" and len(rows) == 1 + 300 - 37  # the retired left out
    for run in world.root.iterdir():
        for path in run.rglob("*"):
            if path.is_file() and ".git" not in path.parts:
                assert servicenow.password not in path.read_text(errors="replace"), path
    assert servicenow.password not in pull["body"]

"""Run the ``run:`` steps of a GitHub Actions workflow locally, parsed from its YAML.

Enough of GitHub's runner for this project's workflows, and no more:

- expressions (``${{ }}``, ``if:``) with contexts, ``||``, ``&&``, ``==``, ``!=``, ``!``,
  ``success() failure() always() cancelled()``, ``fromJSON toJSON format contains startsWith``;
  an ``if:`` without a status function means ``success() && (...)``, as on GitHub;
- the event payload names the repository (``full_name``, ``default_branch`` from the fake
  GitHub), except a ``schedule``'s, as on GitHub;
- a matrix of one list; ``run:`` steps in ``bash --noprofile --norc -eo pipefail``, with the
  env of the workflow, job and step, and ``GITHUB_OUTPUT``, ``GITHUB_ENV``,
  ``GITHUB_STEP_SUMMARY`` files per step;
- ``continue-on-error``: a failed step leaves the job's status alone; its ``outcome`` is
  ``failure`` and its ``conclusion`` ``success``, as on GitHub;
- ``uses:``: ``actions/checkout`` clones the test's origin repository at the run's commit into a
  fresh workspace (its ``origin`` remote is that repository: steps can push to it);
  ``actions/setup-python`` does nothing (the test's Python is used);
  ``actions/upload-artifact`` zips its path into the fake GitHub as an artifact of this run;
  ``actions/create-github-app-token`` checks its inputs and answers ``World.app_token``, a token
  the test gave the fake GitHub (``add_token``); the local composite action runs its own steps,
  with ``inputs``, except its install step, which puts a shim of the test's reconciler where the
  install would (installing takes too long). The shim runs ``World.reconciler``: ``python -m
  reconciler`` unless the test gives another command (``warm_reconciler`` gives a client of
  tests/helpers/forkserver.py).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import forkserver
from tests.helpers.examples import copy_examples
from tests.helpers.fakegithub import FakeGitHub

# --- expressions -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_STATUS = re.compile(r"\b(success|failure|always|cancelled)\s*\(")


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot parse expression {text!r} at {pos}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("value", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("num") is not None:
            out.append(("value", float(m.group("num"))))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            name = m.group("name")
            literal = {"true": True, "false": False, "null": None}
            out.append(("value", literal[name]) if name in literal else ("name", name))
    return out


def truthy(v: Any) -> bool:
    return v not in (None, False, 0, 0.0, "")


def _loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return bool(a == b)

    def number(v: Any) -> float:
        if v is None:
            return 0.0
        if isinstance(v, bool | int | float):
            return float(v)
        try:
            return float(v) if str(v).strip() else 0.0
        except ValueError:
            return float("nan")

    return number(a) == number(b)


def to_string(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v)
    return str(v)


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], functions: Mapping[str, Any]):
        self.tokens = _tokens(text)
        self.i = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, op: str | None = None) -> tuple[str, Any]:
        token = self.tokens[self.i]
        if op is not None and token != ("op", op):
            raise ValueError(f"expected {op!r}, got {token!r}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ValueError(f"trailing tokens: {self.tokens[self.i :]}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            right = self.unary()
            value = _loose_equal(value, right) == (op == "==")
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        kind, token = self.take()
        if kind == "op" and token == "(":
            value = self.or_()
            self.take(")")
        elif kind == "value":
            value = token
        elif kind == "name" and self.peek() == ("op", "("):
            self.take()
            args = []
            while self.peek() != ("op", ")"):
                args.append(self.or_())
                if self.peek() == ("op", ","):
                    self.take()
            self.take(")")
            value = self.functions[token.lower()](*args)
        elif kind == "name":
            value = self.context.get(token)
        else:
            raise ValueError(f"unexpected {token!r}")
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.or_()
                self.take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value


def evaluate(text: str, context: Mapping[str, Any], status: str = "success") -> Any:
    def fmt(template: str, *args: Any) -> str:
        return re.sub(r"\{(\d+)\}", lambda m: to_string(args[int(m.group(1))]), template)

    functions: dict[str, Callable[..., Any]] = {
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "always": lambda: True,
        "cancelled": lambda: False,
        "fromjson": lambda s: json.loads(s),
        "tojson": lambda v: json.dumps(v),
        "format": fmt,
        "contains": lambda a, b: (
            (to_string(b).lower() in to_string(a).lower()) if isinstance(a, str) else b in (a or [])
        ),
        "startswith": lambda a, b: to_string(a).lower().startswith(to_string(b).lower()),
    }
    return _Parser(text, context, functions).parse()


def interpolate(value: Any, context: Mapping[str, Any]) -> Any:
    """A YAML value with its ``${{ }}`` evaluated; a whole-value expression keeps its type."""
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{\{(.*?)\}\}", value.strip(), re.DOTALL)
    if whole:
        return evaluate(whole.group(1), context)
    return re.sub(
        r"\$\{\{(.*?)\}\}", lambda m: to_string(evaluate(m.group(1), context)), value, flags=re.S
    )


def condition(text: Any, context: Mapping[str, Any], status: str) -> bool:
    if text is None:
        return status == "success"
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if not _STATUS.search(text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, context, status))


# --- the runner --------------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure, skipped
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobResult:
    name: str
    matrix: dict[str, Any]
    status: str
    steps: list[StepResult]
    summary: str
    workspace: Path
    environment: str | None

    def step(self, name_or_id: str) -> StepResult:
        return next(s for s in self.steps if s.name == name_or_id)

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.log}" for s in self.steps)


@dataclass
class World:
    """The outside of a run: the origin repository, the fake GitHub, variables and secrets."""

    root: Path
    origin: Path
    github: FakeGitHub
    vars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, dict[str, bytes]] = field(default_factory=dict)  # last one of a name
    runs: int = 0
    reconciler: tuple[str, ...] = (sys.executable, "-m", "reconciler")  # what the shim runs
    app_token: str = ""  # what actions/create-github-app-token answers ("": it fails)


def _read_kv(path: Path) -> dict[str, str]:
    """``key=value`` lines and ``key<<EOF`` blocks, as GitHub reads GITHUB_OUTPUT."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def _shim(bin_dir: Path, command: tuple[str, ...]) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "reconciler"
    shim.write_text(f'#!/bin/sh\nexec {shlex.join(command)} "$@"\n')
    shim.chmod(0o755)


def _zip_path(paths: str, workspace: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for line in filter(None, (p.strip() for p in paths.splitlines())):
        path = Path(line) if os.path.isabs(line) else workspace / line
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file():
                    files[f.relative_to(path).as_posix()] = f.read_bytes()
        elif path.is_file():
            files[path.name] = path.read_bytes()
    return files


class Job:
    def __init__(
        self,
        world: World,
        name: str,
        spec: dict[str, Any],
        base_context: dict[str, Any],
        matrix: dict[str, Any],
        event_name: str,
        run_id: int,
    ) -> None:
        self.world = world
        self.name = name
        self.spec = spec
        self.matrix = matrix
        self.run_id = run_id
        self.event_name = event_name
        n = world.runs
        self.temp = world.root / f"run{n}" / "temp"
        self.workspace = world.root / f"run{n}" / "workspace"
        self.home = world.root / f"run{n}" / "home"
        for d in (self.temp, self.workspace, self.home):
            d.mkdir(parents=True)
        self.context: dict[str, Any] = {
            **base_context,
            "matrix": matrix,
            "steps": {},
            "runner": {"temp": str(self.temp), "os": "Linux"},
            "env": {},
        }
        github = base_context["github"]
        self.env: dict[str, str] = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": world.github.url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(self.temp / "event.json"),
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_BASE_REF": github.get("base_ref", ""),
            "GITHUB_HEAD_REF": github.get("head_ref", ""),
            "RUNNER_TEMP": str(self.temp),
        }
        (self.temp / "event.json").write_text(json.dumps(github["event"]))
        self.status = "success"
        self.summary: list[str] = []
        self.results: list[StepResult] = []
        self.steps_done = 0

    def expand_env(
        self, env: Mapping[str, Any] | None, context: Mapping[str, Any]
    ) -> dict[str, str]:
        return {k: to_string(interpolate(v, context)) for k, v in (env or {}).items()}

    def run(self) -> JobResult:
        job_env = self.expand_env(self.spec.get("env"), self.context)
        self.env.update(job_env)
        self.context["env"] = dict(job_env)
        environment = self.spec.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        environment = to_string(interpolate(environment, self.context)) if environment else None
        for i, step in enumerate(self.spec["steps"]):
            name = step.get("id") or step.get("name") or f"step {i}"
            self.results.append(self.step(name, step, self.context, {}))
        return JobResult(
            self.name,
            self.matrix,
            self.status,
            self.results,
            "".join(self.summary),
            self.workspace,
            environment,
        )

    def step(
        self,
        name: str,
        step: dict[str, Any],
        context: dict[str, Any],
        outer_env: dict[str, str],
    ) -> StepResult:
        tolerated = truthy(interpolate(step.get("continue-on-error", False), context))
        if not condition(step.get("if"), context, self.status):
            result = StepResult(name, "skipped")
        else:
            before = self.status
            env = {**self.env, **outer_env, **self.expand_env(step.get("env"), context)}
            if "run" in step:
                result = self.run_step(name, step["run"], env, step)
            else:
                result = self.uses_step(name, step, context, env)
            if result.outcome == "failure":
                self.status = before if tolerated else "failure"
        if "id" in step:
            context["steps"][step["id"]] = {
                "outputs": result.outputs,
                "outcome": result.outcome,
                "conclusion": "success"
                if tolerated and result.outcome == "failure"
                else result.outcome,
            }
        return result

    def run_step(
        self, name: str, script: str, env: dict[str, str], step: dict[str, Any]
    ) -> StepResult:
        assert "${{" not in script, f"{name}: an expression inside run:"
        self.steps_done += 1
        files = {
            key: self.temp / f"_{key.lower()}_{self.steps_done}"
            for key in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        for path in files.values():
            path.touch()
        script_file = self.temp / f"_step_{self.steps_done}.sh"
        script_file.write_text(script)
        env = {**env, **{k: str(v) for k, v in files.items()}}
        cwd = self.workspace / step.get("working-directory", ".")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.env.update(_read_kv(files["GITHUB_ENV"]))
        added = [p for p in files["GITHUB_PATH"].read_text().splitlines() if p]
        if added:
            self.env["PATH"] = os.pathsep.join([*reversed(added), self.env["PATH"]])
        self.summary.append(files["GITHUB_STEP_SUMMARY"].read_text())
        return StepResult(
            name,
            "success" if proc.returncode == 0 else "failure",
            _read_kv(files["GITHUB_OUTPUT"]),
            f"$ {script.strip()}\n[exit {proc.returncode}]\n{proc.stdout}{proc.stderr}",
        )

    def uses_step(
        self, name: str, step: dict[str, Any], context: dict[str, Any], env: dict[str, str]
    ) -> StepResult:
        uses = step["uses"]
        with_ = {k: to_string(interpolate(v, context)) for k, v in (step.get("with") or {}).items()}
        action = uses.split("@")[0]
        if action == "actions/checkout":
            github = context["github"]
            shutil.rmtree(self.workspace)
            subprocess.run(
                ["git", "clone", "-q", str(self.world.origin), str(self.workspace)], check=True
            )
            subprocess.run(
                ["git", "-C", str(self.workspace), "checkout", "-q", github["sha"]], check=True
            )
            return StepResult(name, "success")
        if action == "actions/setup-python":
            return StepResult(name, "success")
        if action == "actions/create-github-app-token":
            app_id = with_.get("app-id") or with_.get("client-id")
            if not (app_id and with_.get("private-key")):
                return StepResult(name, "failure", log="app-id and private-key are required")
            if not self.world.app_token:
                return StepResult(name, "failure", log="the app is not installed here")
            log = f"a token of app {app_id}, " + ", ".join(
                f"{k.removeprefix('permission-')}: {v}"
                for k, v in sorted(with_.items())
                if k.startswith("permission-")
            )
            return StepResult(name, "success", {"token": self.world.app_token}, log)
        if action == "actions/upload-artifact":
            files = _zip_path(with_["path"], self.workspace)
            if not files:
                if with_.get("if-no-files-found", "warn") == "error":
                    return StepResult(name, "failure", log="no files found")
                return StepResult(name, "success", log="no files found")
            self.world.github.add_artifact(self.run_id, with_["name"], files)
            self.world.artifacts[with_["name"]] = files
            return StepResult(name, "success", log=f"uploaded {sorted(files)}")
        if uses.startswith("./"):
            return self.composite(name, self.workspace / uses, with_, env)
        raise AssertionError(f"no emulation for {uses}")

    def composite(
        self, name: str, directory: Path, with_: dict[str, str], env: dict[str, str]
    ) -> StepResult:
        spec = yaml.safe_load((directory / "action.yml").read_text())
        inputs = {
            key: with_.get(key, to_string(decl.get("default", "")))
            for key, decl in spec.get("inputs", {}).items()
        }
        unknown = set(with_) - set(inputs)
        assert not unknown, f"{name}: inputs the action does not declare: {unknown}"
        for key, decl in spec.get("inputs", {}).items():
            assert not decl.get("required") or with_.get(key), f"{name}: {key} is required"
        inner: dict[str, Any] = {**self.context, "inputs": inputs, "steps": {}}
        outer_env = {k: v for k, v in env.items() if self.env.get(k) != v}
        outer_env["GITHUB_ACTION_PATH"] = str(directory)
        logs, outcome = [], "success"
        before = self.status
        for i, step in enumerate(spec["runs"]["steps"]):
            assert step.get("shell") == "bash", "composite run steps name their shell"
            step_name = step.get("id") or f"{name}[{i}]"
            if step.get("id") == "install":  # emulated: a shim where the install puts the venv
                _shim(self.temp / "reconciler-venv" / "bin", self.world.reconciler)
                inner["steps"]["install"] = {"outputs": {}, "outcome": "success"}
                continue
            result = self.step(step_name, step, inner, outer_env)
            logs.append(f"[{result.name}: {result.outcome}]\n{result.log}")
            if result.outcome == "failure":
                outcome = "failure"
        self.status = "failure" if outcome == "failure" or before == "failure" else before
        outputs = {
            key: to_string(interpolate(decl["value"], inner))
            for key, decl in spec.get("outputs", {}).items()
        }
        return StepResult(name, outcome, outputs, "\n".join(logs))


def run_workflow(
    world: World,
    workflow: Path,
    *,
    event_name: str,
    event: dict[str, Any],
    sha: str,
    ref: str,
    base_ref: str = "",
) -> list[JobResult]:
    """Every job of ``workflow`` (each matrix entry in turn) for one event."""
    spec = yaml.safe_load(workflow.read_text())
    triggers = spec.get(True, spec.get("on"))  # YAML 1.1 reads the key `on` as True
    assert event_name in triggers, f"{workflow.name} does not run on {event_name}"
    repository = world.github.repository
    if event_name != "schedule":  # as on GitHub: a schedule's event names no repository
        named = {"full_name": repository, "default_branch": world.github.default_branch}
        event = {**event, "repository": {**named, **event.get("repository", {})}}
    github = {
        "repository": repository,
        "sha": sha,
        "ref": ref,
        "ref_name": ref.rsplit("/", 1)[-1],
        "event_name": event_name,
        "event": event,
        "token": world.github.token,
        "base_ref": base_ref,
        "head_ref": "",
        "run_id": "",
    }
    base = {"github": github, "vars": world.vars, "secrets": world.secrets, "inputs": {}}
    fork = event.get("pull_request", {}).get("head", {}).get("repo", {}).get("full_name")
    run_id = world.github.add_run(
        event=event_name,
        branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else "pr",
        fork=bool(fork and fork != repository),
    )
    github["run_id"] = str(run_id)
    results = []
    for job_name, job in spec["jobs"].items():
        if "if" in job and not condition(job["if"], base, "success"):
            continue
        matrix_spec = (job.get("strategy") or {}).get("matrix") or {}
        assert len(matrix_spec) <= 1, "one matrix dimension"
        entries: list[dict[str, Any]] = [{}]
        for key, value in matrix_spec.items():
            entries = [{key: v} for v in interpolate(value, base)]
        for entry in entries:
            world.runs += 1
            results.append(Job(world, job_name, job, base, entry, event_name, run_id).run())
    return results


@contextmanager
def warm_reconciler(directory: Path, *warm: Path) -> Iterator[tuple[str, ...]]:
    """A warm reconciler (tests/helpers/forkserver.py) serving from ``directory``; yields what a
    shim runs (``World.reconciler``). ``RECONCILER_TESTS_FRESH=1``: ``python -m reconciler``
    instead, slower. ``warm``: directories validated once, to fill what commands compute once
    per process."""
    if os.environ.get("RECONCILER_TESTS_FRESH"):
        yield (sys.executable, "-m", "reconciler")
        return
    root = Path(__file__).resolve().parents[2]
    socket_path = directory / "socket"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(directory),
    }
    command = [sys.executable, "-m", "tests.helpers.forkserver", "serve", str(socket_path)]
    with (directory / "server.log").open("w") as log:
        server = subprocess.Popen(
            [*command, *map(str, warm)],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert server.stdout is not None
    ready = server.stdout.readline()
    assert ready == "ready\n", (directory / "server.log").read_text()
    try:
        yield forkserver.client_command(socket_path)
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- the repository a world runs in ------------------------------------------------------------

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def git(repo: Path, *args: str) -> str:
    """``git -C repo ARGS`` as a test user; its output, stripped."""
    out = subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def repository(tmp_path: Path) -> tuple[Path, Path]:
    """(origin, work): a bare ``origin.git`` with ``main``, and a work tree holding a copy of
    this repository's ``examples/`` and ``.github/``, not committed yet."""
    root = Path(__file__).resolve().parents[2]
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    copy_examples(work / "examples")
    shutil.copytree(root / ".github", work / ".github")
    (work / ".gitignore").write_text(".reconciler/\n")
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    git(work, "remote", "add", "origin", str(origin))
    return origin, work

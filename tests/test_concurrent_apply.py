"""Concurrent applies on one org never duplicate (issue 13, item 1).

Real ``reconciler apply`` processes, started at the same moment against one sandbox server on
127.0.0.1 (the session's): the API has no lock and no idempotency key, so two runs that
planned the same creates both make them. Each run lists the kind again after its creates, keeps
the lowest id of the objects that share a name and equal the desired object, and deletes the
others; a run whose own object lost reports ``adopted`` ("lost a race"). Every run that wrote exits
0, the org ends with exactly one object per name, and a plan afterwards shows no changes. With
more than two runs, one may *plan* while two others' copies of a name both exist: equal copies
are matched as apply matches them (the lowest id), the others reported unmanaged until their run
removes them, so that run exits 0 too (docs/apply.md, "Concurrent runs").

Counts: 300 creates for 2 runs (the size of the report); 40 for 4 runs and 16 for 8 runs (two
kinds), which prove the same with fewer requests: 8 runs of 300 would take most of the suite's
time budget on a 2-core machine. Each run is its own process running ``python -m reconciler``,
forked from one warm interpreter of the module (``tests/helpers/forkserver.py``, as the workflow
tests do): an interpreter's start (imports, compiled schemas) costs about half a second of CPU,
which 16 processes would spend for nothing, and which also spreads the starts of "at once" over
a second. ``RECONCILER_TESTS_FRESH=1`` starts each with ``python -m reconciler`` instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import kinds
from reconciler.apply import Event, Executor, Outcome, _id_order, _Made, _settle, _Verdict
from reconciler.desired import prepare
from reconciler.http.infracost import ApiClient
from reconciler.live import fetch_live
from reconciler.model import LiveObject, Ref
from reconciler.plan import Options, make_plan
from reconciler.settings import Secret
from tests.helpers import forkserver
from tests.helpers.cli import against, run
from tests.helpers.sandbox import SandboxOrg
from tests.helpers.workflow_runner import interpolate

KINDS = {"TaggingPolicy": "tagging-policies", "Guardrail": "guardrails"}
ROOT = Path(__file__).resolve().parent.parent
Result = tuple[int, str, str]  # exit code, stdout, stderr


@pytest.fixture(scope="module")
def reconciler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ...]]:
    """The command that runs ``python -m reconciler``: a client of one warm interpreter for the
    module, each command its own forked process; or a fresh interpreter each time."""
    if os.environ.get("RECONCILER_TESTS_FRESH"):
        yield (sys.executable, "-m", "reconciler")
        return
    directory = tmp_path_factory.mktemp("forkserver")
    socket_path = directory / "socket"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    with (directory / "server.log").open("w") as log:
        serve = ["serve", str(socket_path), str(ROOT / "examples")]
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.forkserver", *serve],
            cwd=ROOT,
            env={**env, "HOME": str(directory)},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert server.stdout is not None
    assert server.stdout.readline() == "ready\n", (directory / "server.log").read_text()
    try:
        yield forkserver.client_command(socket_path)
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def desired(directory: Path, guardrails: int, policies: int = 0) -> dict[str, set[str]]:
    """A directory of ``guardrails`` guardrails and ``policies`` tagging policies; their names."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text("org: acme\napi: sandbox\n")
    docs = [
        f"kind: Guardrail\nname: Guardrail {i:04d}\nscope: PROJECT\ntotalThreshold: {100 + i}\n"
        for i in range(guardrails)
    ] + [
        f"kind: TaggingPolicy\nname: Policy {i:04d}\ntags:\n  - key: team{i}\n    mandatory: true\n"
        for i in range(policies)
    ]
    (directory / "objects.yaml").write_text("---\n".join(docs))
    return {
        "Guardrail": {f"Guardrail {i:04d}" for i in range(guardrails)},
        "TaggingPolicy": {f"Policy {i:04d}" for i in range(policies)},
    }


def live_names(org: SandboxOrg, kind: str) -> list[str]:
    response = org.request("GET", KINDS[kind])
    assert response.status_code == 200, response.text
    return [o["attributes"]["name"] for o in response.json()["data"]]


def at_once(
    reconciler: tuple[str, ...], commands: list[list[str]], cwd: Path, env: dict[str, str]
) -> list[Result]:
    """Start every command, then wait for all. Output goes to files: a run blocked on a full
    pipe while the test reads another one's would not be running at the same moment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("INFRACOST_")}
    logs = Path(tempfile.mkdtemp(prefix="runs-", dir=cwd.parent))
    started = []
    for i, command in enumerate(commands):
        out, err = logs / f"{i}.out", logs / f"{i}.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(
                [*reconciler, *command],
                cwd=cwd,
                env={**base, **env},
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        started.append((proc, out, err))
    results = []
    for proc, out, err in started:
        proc.wait(timeout=120)  # a guard against a hang, not a measure
        results.append((proc.returncode, out.read_text(), err.read_text()))
    return results


def applied_json(result: Result) -> list[dict[str, Any]]:
    """The events of a run that exited 0 (``--format json``): each change exactly once, all of
    them applied, and counted by the summary."""
    code, out, err = result
    assert code == 0, out[-3000:] + err[-3000:]
    *events, summary = [json.loads(line) for line in out.splitlines()]
    assert summary["event"] == "summary", out[-2000:]
    assert {e["event"] for e in events} <= {"created", "adopted"}, out[-3000:]
    assert len({(e["kind"], e["name"]) for e in events}) == len(events), "a change reported twice"
    assert (summary["applied"], summary["failed"], summary["skipped"]) == (len(events), 0, 0)
    return events


EVENT_LINE = re.compile(
    r'^(?P<symbol>\S) (?P<event>\w+) (?P<kind>\w+) "(?P<name>[^"]+)"(?P<rest>.*)$'
)


def applied_text(result: Result) -> list[dict[str, str]]:
    """The events of a run (text output), which must have exited 0."""
    code, out, err = result
    assert code == 0, out[-3000:] + err[-3000:]
    if "Nothing to apply." in out:  # it planned after the others had made everything
        return []
    events = [m.groupdict() for line in out.splitlines() if (m := EVENT_LINE.match(line))]
    assert {e["event"] for e in events} <= {"created", "adopted"}, out[-3000:]
    assert len({(e["kind"], e["name"]) for e in events}) == len(events), "a change reported twice"
    assert f"Apply complete: {len(events)} applied, 0 failed, 0 skipped." in out, out[-2000:]
    return events


def assert_converged(directory: Path, org: SandboxOrg, names: dict[str, set[str]]) -> None:
    for kind, expected in names.items():
        found = live_names(org, kind)
        assert len(found) == len(expected), Counter(n for n in found if found.count(n) > 1)
        assert set(found) == expected
    flags, env = against(org)
    writes = org.writes()
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=directory, env=env)
    assert code == 0, out + err
    assert out.rstrip().endswith("No changes.")
    assert org.writes() == writes


def met(details: list[str]) -> int:
    """How many events say that another run made the same object: proof that the race was real."""
    return sum(1 for d in details if "made by a concurrent run" in d or "lost a race" in d)


def test_two_applies_of_one_directory_at_once_make_each_object_once(
    tmp_path: Path, sandbox_org: SandboxOrg, reconciler: tuple[str, ...]
) -> None:
    """The report's case: two runs of 300 creates at the same moment made 600 objects."""
    directory = tmp_path / "d"
    names = desired(directory, 300)
    flags, env = against(sandbox_org)
    command = ["apply", ".", *flags, "--auto-approve", "--format", "json"]
    runs = [applied_json(r) for r in at_once(reconciler, [command] * 2, directory, env)]
    # the first run to plan saw nothing: between them, every object was reported
    assert {e["name"] for events in runs for e in events} == names["Guardrail"]
    assert_converged(directory, sandbox_org, names)
    details = [e["detail"] for events in runs for e in events]
    assert met(details) > 0, "no run met the other one's objects: the test proves nothing"
    for e in (e for events in runs for e in events if e["event"] == "adopted"):
        assert e["detail"].startswith(f"lost a race, adopted id {e['id']} (its own id ")


@pytest.mark.parametrize(("runs", "each"), [(4, 20), (8, 8)], ids=["4x40", "8x16"])
def test_many_applies_at_once_converge(
    tmp_path: Path, sandbox_org: SandboxOrg, reconciler: tuple[str, ...], runs: int, each: int
) -> None:
    """Four and eight runs, two kinds: exactly one object per name, and every run exits 0 (a
    lost race is adopted, not failed; a run that planned amid others' equal copies matches the
    lowest id, as apply does)."""
    directory = tmp_path / "d"
    names = desired(directory, each, each)
    flags, env = against(sandbox_org)
    command = ["apply", ".", *flags, "--auto-approve"]
    sandbox_org.set_faults(
        f"gather={runs}"
    )  # every run lists the empty org: a race, whatever the load
    applied = [applied_text(r) for r in at_once(reconciler, [command] * runs, directory, env)]
    sandbox_org.reset()
    assert sum(1 for events in applied if events) >= 2, "fewer than two runs wrote: no race"
    reported = {(e["kind"], e["name"]) for events in applied for e in events}
    assert reported == {(kind, name) for kind, group in names.items() for name in group}
    assert_converged(directory, sandbox_org, names)
    details = [e["rest"] for events in applied for e in events]
    assert met(details) > 0, "no run met another one's objects: the test proves nothing"


def test_a_saved_plan_applied_twice_at_once_makes_each_object_once(
    tmp_path: Path, sandbox_org: SandboxOrg, reconciler: tuple[str, ...]
) -> None:
    """Both runs pass the stale check (nothing exists yet), then both create: check-then-act.
    The sandbox answers both runs' listings together (``gather=2``), so both pass it however
    loaded the machine is; 150 ms of API latency keeps their creates overlapping."""
    directory = tmp_path / "d"
    names = desired(directory, 20)
    flags, env = against(sandbox_org)
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)
    assert code == 0, out + err
    sandbox_org.set_faults("latency_ms=150,gather=2")
    command = ["apply", "plan.json", "--format", "json", "--parallelism", "20"]
    runs = [applied_json(r) for r in at_once(reconciler, [command] * 2, directory, env)]
    sandbox_org.reset()
    assert [len(events) for events in runs] == [20, 20]  # both passed the stale check
    assert_converged(directory, sandbox_org, names)
    details = [e["detail"] for events in runs for e in events]
    assert met(details) > 0, "no run met the other one's objects: the test proves nothing"


# --- the workflows: one write to an org at a time ---------------------------------------------

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


@pytest.mark.parametrize("workflow", ["apply.yml", "drift.yml"])
def test_the_workflows_that_write_share_one_group_per_org(workflow: str) -> None:
    """Two directories on one org wait for each other, in apply and drift alike; without the
    variable, each directory is its own group, as before."""
    [job] = yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"].values()
    assert job["concurrency"]["cancel-in-progress"] is False
    group = job["concurrency"]["group"]
    orgs = {"RECONCILER_ORGS": json.dumps({"staging": "acme", "production": "acme"})}

    def key(directory: str, variables: dict[str, str]) -> str:
        return str(interpolate(group, {"vars": variables, "matrix": {"dir": directory}}))

    assert key("staging", orgs) == key("production", orgs) == "reconciler-acme"
    assert key("sandbox", orgs) == "reconciler-sandbox"
    assert key("staging", {}) == "reconciler-staging" != key("production", {})


def test_apply_yml_writes_to_the_org_it_locks(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    """The steps of apply.yml that reach the API get the org of the group as INFRACOST_ORG: a
    map that disagrees with reconciler.yaml stops the apply before it writes."""
    steps = yaml.safe_load((WORKFLOWS / "apply.yml").read_text())["jobs"]["apply"]["steps"]
    with_token = [s for s in steps if "INFRACOST_SERVICE_TOKEN" in s.get("env", {})]
    assert [s["with"]["mode"] for s in with_token] == ["apply", "snapshot"]
    context = {
        "vars": {"RECONCILER_ORGS": json.dumps({"d": "elsewhere"})},
        "matrix": {"dir": "d"},
        "secrets": {},
    }
    for step in with_token:
        assert interpolate(step["env"]["INFRACOST_ORG"], context) == "elsewhere"
        assert interpolate(step["env"]["INFRACOST_ORG"], {**context, "vars": {}}) is None
    directory = tmp_path / "d"
    desired(directory, 1)
    (directory / "reconciler.yaml").write_text(f"org: {sandbox_org.org}\n")
    _, env = against(sandbox_org, INFRACOST_ORG="elsewhere", INFRACOST_API_URL=sandbox_org.base_url)
    code, out, err = run("apply", ".", "--auto-approve", cwd=directory, env=env)
    assert code == 1, out + err
    assert f'sets org "{sandbox_org.org}" but the environment sets INFRACOST_ORG="elsewhere"' in err
    assert sandbox_org.writes() == 0


def test_a_run_that_plans_amid_equal_copies_matches_the_lowest_id(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """What a third run sees when it plans while two others' equal copies both exist: the lowest
    id is its object (as apply keeps it), the other copy is unmanaged with a hint, nothing of it
    is written, and the run exits 0."""
    directory = tmp_path / "d"
    desired(directory, 1)
    ids = sorted(
        sandbox_org.guardrail("Guardrail 0000", scope="PROJECT", totalThreshold=100)["id"]
        for _ in range(2)
    )
    writes = sandbox_org.writes()
    flags, env = against(sandbox_org)
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=directory, env=env)
    assert code == 0, out + err
    assert f"an equal copy of {ids[0]} (the lowest id is kept)" in out
    assert ids[1] in out
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)
    assert code == 0, out + err
    assert sandbox_org.writes() == writes


def test_copies_that_differ_are_ambiguous_and_the_reason_reaches_stderr_in_json(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """Copies with other content are not a race's: a refused plan, nothing written, and the
    reason also with ``--format json`` (CI's format), on stderr."""
    directory = tmp_path / "d"
    desired(directory, 2)
    sandbox_org.guardrail("Guardrail 0000", scope="PROJECT", totalThreshold=100)
    sandbox_org.guardrail("Guardrail 0000", scope="PROJECT", totalThreshold=999)
    writes = sandbox_org.writes()
    flags, env = against(sandbox_org)
    code, out, err = run(
        "apply", ".", *flags, "--auto-approve", "--format", "json", cwd=directory, env=env
    )
    assert (code, out) == (1, "")
    assert err.startswith("Error: the plan was refused; nothing was written:\n")
    assert "of Guardrail/Guardrail 0000 to choose one: 2 live objects have this name" in err
    assert sandbox_org.writes() == writes


# --- the rule, deterministically: copies made between the plan and the create -----------------


def test_copies_made_since_the_plan_keep_the_lowest_id_and_other_content_is_a_conflict(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """Another run's copies land between this run's plan and its creates: 20 equal ones (the
    lowest id of each pair is kept, whichever run made it) and one with other content (a
    conflict: reported as failed, and neither object deleted)."""
    directory = tmp_path / "d"
    desired(directory, 20)
    with (directory / "objects.yaml").open("a") as fh:
        fh.write("---\nkind: Guardrail\nname: Disputed\nscope: PROJECT\ntotalThreshold: 1\n")
    prepared = prepare(directory, flag_org=sandbox_org.org, flag_api=sandbox_org.base_url, env={})
    token = Secret(sandbox_org.token)
    with ApiClient(sandbox_org.base_url, sandbox_org.org, token) as client:
        live = fetch_live(client)
        plan = make_plan(
            prepared,
            live,
            Options(),
            org=sandbox_org.org,
            api="test",
            baseline=None,
            display_dir=".",
        )
        assert [c.action for c in plan.changes] == ["create"] * 21
        theirs = {
            f"Guardrail {i:04d}": sandbox_org.guardrail(
                f"Guardrail {i:04d}", scope="PROJECT", totalThreshold=100 + i
            )["id"]
            for i in range(20)
        }
        other = sandbox_org.guardrail("Disputed", scope="PROJECT", totalThreshold=2)["id"]
        events: list[Event] = []
        known = {k: {o.id for o in v} for k, v in live.items()}
        result = Executor(client, env={}, known_ids=known, on_event=events.append).run(plan)
    assert result.events == events and len(events) == 21  # one event per change, all streamed
    assert (result.applied, result.failed) == (20, 1)
    ids: dict[str, list[str]] = {}
    for o in sandbox_org.request("GET", "guardrails").json()["data"]:
        ids.setdefault(o["attributes"]["name"], []).append(o["id"])
    [disputed] = [e for e in events if e.ref.name == "Disputed"]
    outcomes = set()
    for event in (e for e in events if e is not disputed):
        name, kept = event.ref.name, event.ref.id
        assert kept is not None and ids[name] == [kept]
        if event.outcome == "created":  # ours was the lower id: theirs was deleted
            assert kept.lower() < theirs[name].lower()
            assert (
                event.detail == f"deleted 1 duplicate made by a concurrent run (id {theirs[name]})"
            )
        else:  # theirs was the lower id: adopted, ours deleted
            assert event.outcome == "adopted" and kept == theirs[name]
            own = re.fullmatch(
                rf"lost a race, adopted id {kept} \(its own id (\S+) deleted as a duplicate\)",
                event.detail,
            )
            assert own is not None and own.group(1).lower() > kept.lower()
        assert event.warnings == ()
        outcomes.add(event.outcome)
    assert outcomes == {"created", "adopted"}  # 20 coin flips: both sides of the rule ran
    assert disputed.outcome == "failed" and disputed.ref.id is not None
    assert sorted(ids["Disputed"]) == sorted([disputed.ref.id, other])  # neither deleted
    assert disputed.detail == (
        f'created (id {disputed.ref.id}); but Guardrail "Disputed" also exists with other content'
        f" (id {other}), made since the plan: a conflict, not deleted; keep one of them and plan"
        " again"
    )


GUARDRAIL = kinds.OBJECT_KINDS["Guardrail"]


def made(own: str | None, detail: str = "", outcome: Outcome = "created") -> _Made:
    def differences(attributes: Mapping[str, Any]) -> tuple[str, ...]:
        return (
            ()
            if attributes.get("totalThreshold") == 1
            else ("totalThreshold reads back differently from what was sent",)
        )

    return _Made(Event(outcome, Ref("Guardrail", "G", own), detail, (), 0.5), own, differences)


def live(object_id: str, threshold: int = 1) -> LiveObject:
    return LiveObject(object_id, {"name": "G", "totalThreshold": threshold})


def test_the_winner_is_the_lowest_id_case_insensitively() -> None:
    ids = ["b", "A", "c"]
    assert min(ids, key=_id_order) == "A"
    assert sorted(["B2", "a1", "b1"], key=_id_order) == ["a1", "b1", "B2"]


def test_settle_reports_each_outcome_once() -> None:
    # alone: created, with the read-back's warnings from the listing
    event = _settle(GUARDRAIL, _Verdict(made("x"), live("x", 5)), {})
    assert (event.outcome, event.ref.id, event.detail, event.seconds) == ("created", "x", "", 0.5)
    assert event.warnings == ("totalThreshold reads back differently from what was sent",)
    # the answer was lost and two copies matched: the listing decides
    lost = made(None, "POST /x: no answer; outcome unknown: 2 new objects match", "adopted")
    event = _settle(GUARDRAIL, _Verdict(lost, live("a"), ("b",)), {})
    assert (event.outcome, event.ref.id) == ("adopted", "a")
    assert event.detail == (
        "the answer was lost and concurrent runs made the same object; adopted id a; "
        "deleted 1 duplicate made by a concurrent run (id b)"
    )
    # its own copy already deleted by the winner's run
    event = _settle(GUARDRAIL, _Verdict(made("z"), live("a"), own_listed=False), {})
    assert (
        event.detail
        == "lost a race, adopted id a (its own id z already deleted by a concurrent run)"
    )
    # a delete of a duplicate failed: the change failed, and says which
    event = _settle(GUARDRAIL, _Verdict(made("a"), live("a"), ("b", "c")), {"c": "DELETE 500"})
    assert (event.outcome, event.ref.id) == ("failed", "a")
    assert event.detail == (
        "created (id a); deleted 1 duplicate made by a concurrent run (id b); deleting the "
        "duplicates made by concurrent runs failed: id c: DELETE 500; plan again"
    )
    # its own object vanished and nothing equal is left
    event = _settle(GUARDRAIL, _Verdict(made("x"), None, own_listed=False), {})
    assert (event.outcome, event.ref.id) == ("failed", "x")
    assert event.detail == "created (id x), but it is no longer listed and no new object equals it"

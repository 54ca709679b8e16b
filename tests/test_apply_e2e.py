"""apply end to end against the sandbox: idempotency, stale plans, faults, guards, interruption.

Every scenario ends with the idempotency check: a second plan shows "No changes." and the
sandbox counts no write.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.apply import Executor
from reconciler.desired import prepare
from reconciler.http.infracost import ApiClient, ApiError, ClientSettings
from reconciler.live import fetch_live
from reconciler.plan import Options, make_plan
from reconciler.settings import Secret
from tests.helpers.cli import against, run
from tests.helpers.examples import copy_examples
from tests.helpers.sandbox import SandboxOrg

ROOT = Path(__file__).resolve().parent.parent


def assert_converged(directory: Path, org: SandboxOrg, *extra: str) -> None:
    """The idempotency check: plan shows no changes and writes nothing."""
    flags, env = against(org)
    writes = org.writes()
    code, out, err = run("plan", ".", *flags, *extra, "--detailed-exitcode", cwd=directory, env=env)
    assert code == 0, out + err
    assert out.rstrip().endswith("No changes.")
    assert org.writes() == writes


def guardrails(directory: Path, count: int, *, threshold: int = 100) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text("org: acme\napi: sandbox\n")
    docs = [
        f"kind: Guardrail\nname: Guardrail {i:04d}\nscope: PROJECT\n"
        f"totalThreshold: {threshold + i}\n"
        for i in range(count)
    ]
    (directory / "guardrails.yaml").write_text("---\n".join(docs))
    return directory


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path / "examples")


def live_ids(org: SandboxOrg, kind: str) -> dict[str, str]:
    return {o["attributes"]["name"]: o["id"] for o in org.request("GET", kind).json()["data"]}


def live_names(org: SandboxOrg, kind: str) -> list[str]:
    return [o["attributes"]["name"] for o in org.request("GET", kind).json()["data"]]


def test_examples_apply_then_plan_is_empty(examples: Path, sandbox_org: SandboxOrg) -> None:
    flags, env = against(sandbox_org)
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
    assert code == 0, out + err
    assert "Apply complete: 6 applied, 0 failed, 0 skipped." in out
    assert len(sandbox_org.custom_properties()[1]) == 10
    assert_converged(examples, sandbox_org)
    code, out, _ = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
    assert code == 0 and "Nothing to apply." in out


def test_apply_without_a_terminal_or_approval_refuses(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    code, _, err = run("apply", ".", *flags, cwd=examples, env=env)
    assert code == 1 and "--auto-approve" in err
    assert sandbox_org.writes() == 0


def test_a_saved_plan_applied_twice_is_already_applied_the_second_time(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=examples, env=env)[0] == 0
    code, out, err = run("apply", "plan.json", cwd=examples, env=env)
    assert code == 0, out + err
    writes = sandbox_org.writes()
    for fmt in ("text", "json"):  # a CI job run again
        code, out, err = run("apply", "plan.json", "--format", fmt, cwd=examples, env=env)
        assert code == 0, out + err
        assert sandbox_org.writes() == writes
    assert json.loads(out) == {
        "event": "summary",
        "applied": 0,
        "failed": 0,
        "skipped": 0,
        "interrupted": False,
        "changes": False,
    }
    code, out, err = run("apply", "plan.json", cwd=examples, env=env)
    assert (code, out, err) == (
        0,
        "Already applied: the live state already is what plan.json would write; "
        "nothing was written.\n",
        "",
    )
    assert sorted(live_names(sandbox_org, "guardrails")) == [
        "Production cost increase",
        "Project budget",
    ]
    assert_converged(examples, sandbox_org)


def test_updates_and_deletes_applied_twice_are_already_applied(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = guardrails(tmp_path / "d", 3)
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)[0] == 0
    (directory / "guardrails.yaml").write_text(
        "kind: Guardrail\nname: Guardrail 0000\nscope: PROJECT\ntotalThreshold: 5\n---\n"
        "kind: Guardrail\nname: Guardrail 0001\nscope: PROJECT\ntotalThreshold: 101\n---\n"
        "kind: Guardrail\nname: Guardrail 0002\nabsent: true\n"
    )
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)
    assert "Plan: 0 to add, 1 to change, 1 to destroy." in out, out + err
    first = live_ids(sandbox_org, "guardrails")["Guardrail 0000"]
    sandbox_org.request(  # the update made by hand, the delete not: only part of it is live
        "PATCH", "guardrails", first, json={"data": {"attributes": {"totalThreshold": 5}}}
    )
    code, out, err = run("apply", "plan.json", cwd=directory, env=env)
    assert code == 4, out + err
    assert err.splitlines()[1:] == [
        "  Guardrail/Guardrail 0000: totalThreshold changed since the plan (100 -> 5)",
        "  Guardrail/Guardrail 0000: now has the values the plan would write",
    ]
    sandbox_org.request(
        "PATCH", "guardrails", first, json={"data": {"attributes": {"totalThreshold": 100}}}
    )
    assert run("apply", "plan.json", cwd=directory, env=env)[0] == 0
    writes = sandbox_org.writes()
    code, out, err = run("apply", "plan.json", cwd=directory, env=env)
    assert code == 0 and out.startswith("Already applied:"), out + err
    assert sandbox_org.writes() == writes
    assert_converged(directory, sandbox_org)


def test_an_upload_applied_twice_is_already_applied(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)[0] == 0
    csv = examples / "data" / "custom_properties.csv"
    csv.write_text(csv.read_text().rstrip("\n").rsplit("\n", 1)[0] + "\n")  # one row fewer
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=examples, env=env)
    assert "~ update CustomProperties" in out, out + err
    assert run("apply", "plan.json", cwd=examples, env=env)[0] == 0
    writes = sandbox_org.writes()
    code, out, err = run("apply", "plan.json", cwd=examples, env=env)
    assert code == 0 and out.startswith("Already applied:"), out + err
    assert sandbox_org.writes() == writes
    code, out, err = run("apply", "plan.json", "--sync-custom-properties", cwd=examples, env=env)
    assert code == 0 and "uploaded CustomProperties" in out, out + err  # asked for: uploaded
    assert sandbox_org.writes() == writes + 1
    assert_converged(examples, sandbox_org)


def test_a_plan_applied_only_in_part_is_stale(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    """Live already equal to some of the plan's writes, but not all: stale, nothing written."""
    directory = guardrails(tmp_path / "d", 2)
    flags, env = against(sandbox_org)
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)[0] == 0
    sandbox_org.guardrail("Guardrail 0000", scope="PROJECT", totalThreshold=100)  # as planned
    sandbox_org.guardrail("Guardrail 0001", scope="PROJECT", totalThreshold=7)  # not as planned
    writes = sandbox_org.writes()
    code, out, err = run("apply", "plan.json", cwd=directory, env=env)
    assert code == 4, out + err
    assert (
        "Guardrail/Guardrail 0000: an object with this name was created since the plan (id " in err
    )
    assert "), with the values the plan would write\n" in err  # Guardrail 0000's line
    assert err.count("with the values the plan would write") == 1
    assert "Guardrail/Guardrail 0001: an object with this name was created" in err
    assert sandbox_org.writes() == writes


@pytest.mark.parametrize("move", ["changed", "deleted", "created"])
def test_stale_plans_write_nothing(tmp_path: Path, sandbox_org: SandboxOrg, move: str) -> None:
    directory = guardrails(tmp_path / "d", 3)
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)[0] == 0
    text = (directory / "guardrails.yaml").read_text()
    (directory / "guardrails.yaml").write_text(
        text.replace("totalThreshold: 100", "totalThreshold: 5")
        + "---\nkind: Guardrail\nname: New one\nscope: PROJECT\ntotalThreshold: 1\n"
    )
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)[0] == 0
    target = next(
        o
        for o in sandbox_org.request("GET", "guardrails").json()["data"]
        if o["attributes"]["name"] == "Guardrail 0000"
    )
    if move == "changed":
        sandbox_org.request(
            "PATCH",
            "guardrails",
            target["id"],
            json={"data": {"attributes": {"message": "edited in the UI"}}},
        )
    elif move == "deleted":
        sandbox_org.request("DELETE", "guardrails", target["id"])
    else:
        sandbox_org.guardrail("New one", totalThreshold=1)
    writes = sandbox_org.writes()
    code, _, err = run("apply", "plan.json", cwd=directory, env=env)
    assert code == 4, err
    assert {
        "changed": 'Guardrail/Guardrail 0000: message changed since the plan ("" -> "edited in',
        "deleted": "deleted since the plan",
        "created": "created since the plan",
    }[move] in err
    assert sandbox_org.writes() == writes


def test_unresolved_secrets_fail_only_their_change(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    directory = guardrails(tmp_path / "d", 2)
    with (directory / "guardrails.yaml").open("a") as fh:
        fh.write(
            "---\nkind: Guardrail\nname: Hooked\nscope: PROJECT\ntotalThreshold: 1\n"
            "webhookUrl: {fromEnv: HOOK}\n"
        )
    flags, env = against(sandbox_org)
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)
    assert code == 1, out + err
    assert "Apply failed: 2 applied, 1 failed, 0 skipped." in out
    assert "HOOK is not set" in out
    hook = "https://hooks.slack.com/services/T0/B0/secret"
    env = {**env, "HOOK": hook}
    code, out, err = run(
        "apply", ".", *flags, "--auto-approve", "--format", "json", cwd=directory, env=env
    )
    assert code == 0, out + err
    assert hook not in out + err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["created", "summary"]
    plan_flags, plan_env = flags, env
    writes = sandbox_org.writes()
    code, out, _ = run("plan", ".", *plan_flags, "--detailed-exitcode", cwd=directory, env=plan_env)
    assert code == 0 and sandbox_org.writes() == writes


def test_deletion_guards(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    directory = guardrails(tmp_path / "d", 3)
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)[0] == 0
    sandbox_org.guardrail("Made in the UI", totalThreshold=1)
    # unmanaged objects are left alone without prune
    assert_converged(directory, sandbox_org)
    assert "Made in the UI" in live_names(sandbox_org, "guardrails")
    # prune of everything is refused without the override
    (directory / "guardrails.yaml").write_text(
        "kind: Guardrail\nname: Guardrail 0000\nabsent: true\n"
    )
    code, out, _ = run("apply", ".", *flags, "--prune", "--auto-approve", cwd=directory, env=env)
    assert code == 1 and "deletes every live Guardrail" in out
    # pruneLimit is honoured
    (directory / "guardrails.yaml").write_text(
        "kind: Guardrail\nname: Guardrail 0000\nscope: PROJECT\ntotalThreshold: 100\n"
    )
    (directory / "reconciler.yaml").write_text("org: acme\napi: sandbox\npruneLimit: 2\n")
    code, out, _ = run("apply", ".", *flags, "--prune", "--auto-approve", cwd=directory, env=env)
    assert code == 1 and "more than pruneLimit (2)" in out
    assert sandbox_org.writes() == 4
    code, out, err = run(
        "apply",
        ".",
        *flags,
        "--prune",
        "--allow-mass-delete",
        "--auto-approve",
        cwd=directory,
        env=env,
    )
    assert code == 0, out + err
    assert sorted(live_names(sandbox_org, "guardrails")) == ["Guardrail 0000"]
    assert_converged(directory, sandbox_org, "--prune")


def test_protect_holds(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    directory = guardrails(tmp_path / "d", 1)
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)[0] == 0
    (live,) = sandbox_org.request("GET", "guardrails").json()["data"]
    (directory / "guardrails.yaml").write_text(
        "kind: Guardrail\nname: Guardrail 0000\nscope: PROJECT\ntotalThreshold: 100\n"
        f"protect: true\n---\nkind: Guardrail\nname: Cleanup\nid: {live['id']}\nabsent: true\n"
    )
    code, out, _ = run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)
    assert code == 1 and "protect: true forbids deleting it" in out
    assert live_names(sandbox_org, "guardrails") == ["Guardrail 0000"]


def test_faults_then_a_second_apply_converges(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    """300 changes with 20% of requests failing: failures reported, a rerun converges, nothing
    duplicated or lost. The library is driven directly to scale the client's backoff down."""
    directory = guardrails(tmp_path / "d", 200)
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)[0] == 0
    # 100 updates, 100 creates, 100 deletes
    docs = [
        f"kind: Guardrail\nname: Guardrail {i:04d}\nscope: PROJECT\ntotalThreshold: {i + 5000}\n"
        for i in range(100)
    ] + [
        f"kind: Guardrail\nname: Extra {i:04d}\nscope: PROJECT\ntotalThreshold: {i}\n"
        for i in range(100)
    ]
    (directory / "guardrails.yaml").write_text("---\n".join(docs))
    (directory / "reconciler.yaml").write_text("org: acme\napi: sandbox\nprune: true\n")
    sandbox_org.set_faults("error_rate=0.1,throttle_rate=0.05,drop_rate=0.05,seed=7")
    fast = ClientSettings(
        connect_timeout=2,
        read_timeout=5,
        retries=4,
        backoff_factor=0.01,
        backoff_max=0.05,
        backoff_jitter=0.01,
        retry_after_max=0.05,
    )

    def apply_once() -> tuple[int, int]:
        prepared = prepare(
            directory, flag_org=sandbox_org.org, flag_api=sandbox_org.base_url, env={}
        )
        with ApiClient(
            sandbox_org.base_url, sandbox_org.org, Secret(sandbox_org.token), fast
        ) as client:
            live = fetch_live(client)
            plan = make_plan(
                prepared,
                live,
                Options(prune=True, allow_mass_delete=True),
                org=sandbox_org.org,
                api="test",
                baseline=None,
                display_dir=".",
            )
            known = {k: {o.id for o in v} for k, v in live.items()}
            result = Executor(client, env={}, parallelism=8, known_ids=known).run(plan)
        return result.applied, result.failed

    outcomes = []
    for _ in range(5):  # each pass may lose some writes to faults; none may duplicate
        try:
            applied, failed = apply_once()
        except ApiError:  # a listing can fail too when every retry meets a fault
            continue
        outcomes.append((applied, failed))
        if failed == 0:
            break
    else:
        pytest.fail(f"apply did not converge in 5 passes: {outcomes}")
    assert outcomes[0][1] > 0, "the faults should have failed some changes of the first pass"
    sandbox_org.reset()
    names = live_names(sandbox_org, "guardrails")
    assert len(names) == len(set(names)) == 200
    assert sorted(names) == sorted(
        [f"Guardrail {i:04d}" for i in range(100)] + [f"Extra {i:04d}" for i in range(100)]
    )
    assert_converged(directory, sandbox_org)


def test_sigint_starts_no_new_write_and_lets_writes_in_flight_finish(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """SIGINT during an apply of 300 slow creates: what was in flight finishes within the grace
    period, nothing else starts, every change is accounted for, and the exit code is 130."""
    directory = guardrails(tmp_path / "d", 300)
    flags, env = against(sandbox_org)
    sandbox_org.set_faults("latency_ms=300")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            ".",
            *flags,
            "--auto-approve",
            "--format",
            "json",
        ],
        cwd=directory,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("INFRACOST_")}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first finished write: apply is under way
    assert json.loads(first)["event"] == "created"
    proc.send_signal(signal.SIGINT)
    # read through the same buffered file as readline(): communicate() would read the raw
    # descriptor and lose what readline() had already buffered
    out = proc.stdout.read()
    proc.wait(timeout=30)  # a guard against a hang, not a measure
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert "SIGINT received: no new write will start; waiting up to" in err
    events = [json.loads(line) for line in (first + out).splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary" and summary["interrupted"] is True
    created = [e for e in events if e["event"] == "created"]
    # the writes in flight finished within the grace period: none is of unknown outcome
    assert [e for e in events if e["event"] in ("interrupted", "failed")] == []
    assert summary["failed"] == 0
    # the rest never started, and the sandbox committed exactly the writes reported (none can
    # land later: none was in flight when the process ended)
    assert summary["applied"] == len(created) < 300
    assert summary["skipped"] == 300 - summary["applied"]
    # every change is exactly one event, and the summary counts the events
    assert len(events) - 1 == 300
    assert summary["skipped"] == len([e for e in events if e["event"] == "skipped"])
    assert sandbox_org.writes() == summary["applied"]
    sandbox_org.reset()
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)
    assert code == 0, out + err
    names = live_names(sandbox_org, "guardrails")
    assert len(names) == len(set(names)) == 300
    assert_converged(directory, sandbox_org)


def test_sigterm_reports_every_change_as_one_event_and_the_summary_counts_them(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """SIGTERM (what CI sends a cancelled job) during the creates: the creates that never started
    and the deletes of the later phase are each one ``skipped`` event in the log, and the
    summary counts exactly what the log holds (it once counted 36 skipped over 16 events)."""
    directory = guardrails(tmp_path / "d", 40)
    (directory / "reconciler.yaml").write_text("org: acme\napi: sandbox\nprune: true\n")
    sandbox_org.guardrail("Guardrail 0000", scope="PROJECT", totalThreshold=100)  # no change
    for i in range(3):  # pruned: a later phase than the creates
        sandbox_org.guardrail(f"Old {i}", totalThreshold=1)
    flags, env = against(sandbox_org)
    sandbox_org.set_faults("latency_ms=50")
    command = ["apply", ".", *flags, "--auto-approve", "--parallelism", "2", "--format", "json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *command],
        cwd=directory,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("INFRACOST_")}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["event"] == "created"
    proc.send_signal(signal.SIGTERM)
    out = proc.stdout.read()
    proc.wait(timeout=30)  # a guard against a hang, not a measure
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert "SIGTERM received" in err
    *events, summary = [json.loads(line) for line in (first + out).splitlines()]
    assert summary["event"] == "summary" and summary["interrupted"] is True
    assert len(events) == 42  # 39 creates, 3 deletes
    assert len({e["name"] for e in events}) == 42
    outcomes = [e["event"] for e in events]
    assert summary["applied"] == outcomes.count("created") > 0
    assert summary["skipped"] == outcomes.count("skipped") == 42 - summary["applied"]
    assert summary["failed"] == outcomes.count("failed") + outcomes.count("interrupted") == 0
    skipped = {e["name"] for e in events if e["event"] == "skipped"}
    assert {"Old 0", "Old 1", "Old 2"} <= skipped  # the deletes' phase never started
    assert sandbox_org.writes() == 4 + summary["applied"]
    sandbox_org.reset()
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=directory, env=env)
    assert code == 0, out + err
    assert sorted(live_names(sandbox_org, "guardrails")) == [
        f"Guardrail {i:04d}" for i in range(40)
    ]
    assert_converged(directory, sandbox_org)


def test_a_secret_changed_since_the_plan_makes_it_stale(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = guardrails(tmp_path / "d", 1)
    with (directory / "guardrails.yaml").open("a") as fh:
        fh.write(
            "---\nkind: Guardrail\nname: Hooked\nscope: PROJECT\ntotalThreshold: 1\n"
            "webhookUrl: {fromEnv: HOOK}\n"
        )
    flags, env = against(sandbox_org)
    planned = {**env, "HOOK": "https://hooks.slack.com/services/T0/B0/one"}
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=planned)[0] == 0
    later = {**env, "HOOK": "https://hooks.slack.com/services/T0/B0/two"}
    code, _, err = run("apply", "plan.json", cwd=directory, env=later)
    assert code == 4 and "HOOK changed since the plan" in err
    assert "T0/B0" not in err
    assert sandbox_org.writes() == 0
    code, out, err = run("apply", "plan.json", cwd=directory, env=planned)
    assert code == 0, out + err
    writes = sandbox_org.writes()
    code, out, err = run("apply", "plan.json", cwd=directory, env=later)  # the webhook as planned
    assert code == 0 and out.startswith("Already applied:"), out + err
    assert sandbox_org.writes() == writes
    assert_converged(directory, sandbox_org)


def test_sync_custom_properties_always_uploads(examples: Path, sandbox_org: SandboxOrg) -> None:
    flags, env = against(sandbox_org)
    assert run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)[0] == 0
    writes = sandbox_org.writes()
    code, out, _ = run(
        "apply", ".", *flags, "--auto-approve", "--sync-custom-properties", cwd=examples, env=env
    )
    assert code == 0 and "uploaded CustomProperties" in out
    assert sandbox_org.writes() == writes + 1
    assert_converged(examples, sandbox_org)


def _apply_updates(
    directory: Path, org: SandboxOrg
) -> tuple[list[tuple[str, tuple[str, ...]]], int]:
    """Plan and apply ``directory`` with the library; the events, and the requests apply sent."""
    prepared = prepare(directory, flag_org=org.org, flag_api=org.base_url, env={})
    with ApiClient(org.base_url, org.org, Secret(org.token)) as client:
        live = fetch_live(client)
        plan = make_plan(
            prepared, live, Options(), org=org.org, api="test", baseline=None, display_dir="."
        )
        before = org.requests()  # as the sandbox counts them
        result = Executor(client, env={}, parallelism=2).run(plan)
        sent = org.requests() - before
    return [(e.outcome, e.warnings) for e in result.events], sent


def test_an_update_whose_answer_is_the_whole_object_is_not_read_back(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    for i in range(3):
        sandbox_org.guardrail(f"Guardrail {i:04d}", scope="PROJECT", totalThreshold=1)
    directory = guardrails(tmp_path / "d", 3)
    events, sent = _apply_updates(directory, sandbox_org)
    assert events == [("updated", ())] * 3
    assert sent == 3  # one PATCH each: its answer is the object as written
    assert_converged(directory, sandbox_org)


@pytest.mark.parametrize(
    ("faults", "quirk", "per_update"),
    [
        ("", "missing_attribute", ["PATCH", "GET"]),  # partial answers: read back
        # the two list GETs pass; the answer to the PATCH is lost, so it is sent again
        ("script=ok,ok,drop", "", ["PATCH", "PATCH"]),
    ],
)
def test_an_update_whose_answer_is_partial_or_lost_is_read_back(
    tmp_path: Path, sandbox_org: SandboxOrg, faults: str, quirk: str, per_update: list[str]
) -> None:
    sandbox_org.guardrail("Guardrail 0000", scope="PROJECT", totalThreshold=1)
    directory = guardrails(tmp_path / "d", 1)
    if quirk:
        sandbox_org.set_quirks(quirk)
    sandbox_org.set_faults(faults)
    events, sent = _apply_updates(directory, sandbox_org)
    sandbox_org.reset()
    assert events == [("updated", ())]  # message is unknown when missing: never a warning
    assert sent == len(per_update)
    assert_converged(directory, sandbox_org)


def test_an_upload_to_one_org_and_api_is_no_baseline_for_another(
    examples: Path, sandbox_org: SandboxOrg, other_org: SandboxOrg
) -> None:
    """The README's path: apply to the embedded sandbox, then to a served one; each org and API
    that never received the table from this directory gets it."""
    code, out, err = run("apply", ".", "--auto-approve", cwd=examples)  # the embedded sandbox
    assert code == 0 and "uploaded CustomProperties" in out, out + err
    for org in (sandbox_org, other_org):  # another API, then another org of that API
        flags, env = against(org)
        code, out, err = run("plan", ".", *flags, cwd=examples, env=env)
        assert "~ sync CustomProperties (unverifiable: no baseline to compare with)" in out, err
        code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
        assert code == 0 and 'uploaded CustomProperties "custom_properties.csv": 10 rows' in out
        assert len(org.custom_properties()[1]) == 10
    for org in (sandbox_org, other_org):
        flags, env = against(org)
        code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=examples, env=env)
        assert code == 0 and "CustomProperties" not in out, out + err
        assert_converged(examples, org)
    code, out, err = run("plan", ".", "--detailed-exitcode", cwd=examples)  # kept its record
    assert code == 0 and "CustomProperties" not in out, out + err


def test_a_saved_upload_is_not_already_applied_by_an_upload_to_another_org(
    examples: Path, sandbox_org: SandboxOrg, other_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    skip_table = ("--exclude", "CustomProperties/csv")
    assert run("apply", ".", *flags, *skip_table, "--auto-approve", cwd=examples, env=env)[0] == 0
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=examples, env=env)
    assert "~ sync CustomProperties" in out, out + err  # the plan's only write
    other_flags, other_env = against(other_org)
    assert run("apply", ".", *other_flags, "--auto-approve", cwd=examples, env=other_env)[0] == 0
    code, out, err = run("apply", "plan.json", cwd=examples, env=env)
    assert code == 0 and "uploaded CustomProperties" in out, out + err
    assert len(sandbox_org.custom_properties()[1]) == 10
    writes = sandbox_org.writes()
    code, out, err = run("apply", "plan.json", cwd=examples, env=env)
    assert code == 0 and out.startswith("Already applied:"), out + err
    assert sandbox_org.writes() == writes
    for org in (sandbox_org, other_org):
        assert_converged(examples, org)


def test_a_stray_upload_record_never_stops_an_upload_to_a_fresh_org(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    """What running the README in a checkout leaves in examples/.reconciler/ (records of the
    first format, without org or API, and of other targets) says nothing about this org."""
    from reconciler.kinds.custom_properties import row_hashes
    from reconciler.sources import read_table

    csv = read_table(examples / "data" / "custom_properties.csv")
    rows = row_hashes(csv.header, csv.rows)
    uploads = [
        {"org": "acme", "api": api, "digest": csv.digest, "rows": rows}
        for api in ("sandbox", "http://127.0.0.1:8799/v1")
    ]
    record = examples / ".reconciler" / "custom-properties.json"
    record.parent.mkdir()
    flags, env = against(sandbox_org)
    for stray in ({"digest": csv.digest, "rows": rows}, {"uploads": uploads}):
        record.write_text(json.dumps(stray))
        code, out, err = run("plan", ".", *flags, cwd=examples, env=env)
        assert "~ sync CustomProperties" in out, out + err
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
    assert code == 0 and "uploaded CustomProperties" in out, out + err
    assert len(sandbox_org.custom_properties()[1]) == 10
    assert len(json.loads(record.read_text())["uploads"]) == 3  # the others' records kept
    assert_converged(examples, sandbox_org)

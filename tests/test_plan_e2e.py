"""plan, show and snapshot end to end, against the sandbox over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.kinds import OBJECT_KINDS
from tests.helpers.cli import against, run
from tests.helpers.examples import copy_examples
from tests.helpers.golden import regenerating
from tests.helpers.sandbox import SandboxOrg

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "plan"
HOOK = "https://hooks.slack.com/services/T0000/B0000/s3cr3tw3bh00k"


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    return copy_examples(tmp_path / "examples")


def golden(name: str, text: str, org: SandboxOrg) -> None:
    """Compare with a golden file; the org and URL of the run are replaced by fixed words."""
    text = text.replace(org.base_url, "http://127.0.0.1:PORT/v1").replace(org.org, "ORG")
    path = GOLDEN / name
    if regenerating():
        path.write_text(text)
    assert text == path.read_text()


def seed_from_plan(org: SandboxOrg, plan_file: Path, env: dict[str, str]) -> int:
    """Do what apply will do for creates, through the raw API: the stand-in until apply exists."""
    body = json.loads(plan_file.read_text())
    created = 0
    for change in body["plan"]["changes"]:
        if change["action"] != "create":
            continue
        attributes: dict[str, Any] = {}
        for key, value in change["send"].items():
            if isinstance(value, dict) and "fromEnv" in value:
                value = env.get(value["fromEnv"], value["default"])
            attributes[key] = value
        org.create(OBJECT_KINDS[change["kind"]].api_path, attributes)
        created += 1
    return created


def test_examples_plan_to_creations_then_no_changes(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    code, out, err = run(
        "plan", ".", *flags, "--detailed-exitcode", "-o", "plan.json", cwd=examples, env=env
    )
    assert code == 2, err
    golden("examples.txt", out, sandbox_org)
    assert out.splitlines()[-1] == "Plan: 5 to add, 0 to change, 0 to destroy."
    assert seed_from_plan(sandbox_org, examples / "plan.json", env) == 5
    writes = sandbox_org.writes()
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=examples, env=env)
    assert code == 0, out + err
    assert "No changes." in out
    assert sandbox_org.writes() == writes  # plan never writes


def test_json_and_markdown_renderings(examples: Path, sandbox_org: SandboxOrg) -> None:
    flags, env = against(sandbox_org)
    code, out, _ = run("plan", ".", *flags, "--format", "json", cwd=examples, env=env)
    assert code == 0
    golden("examples.json", out, sandbox_org)
    doc = json.loads(out)
    assert doc["formatVersion"] == 1
    assert doc["summary"]["add"] == 5 and doc["summary"]["hasChanges"] is True
    assert (doc["org"], doc["api"]) == (sandbox_org.org, sandbox_org.base_url)
    assert sorted((c["action"], c["kind"]) for c in doc["changes"]) == [
        ("create", "Guardrail"),
        ("create", "Guardrail"),
        ("create", "TaggingPolicy"),
        ("create", "TaggingPolicy"),
        ("create", "TaggingPolicy"),
    ]
    code, out, _ = run(
        "plan",
        ".",
        *flags,
        "--format",
        "markdown",
        cwd=examples,
        env={**env, "GITHUB_SHA": "0123456789abcdef"},
    )
    assert code == 0
    golden("examples.md", out, sandbox_org)
    lines = out.splitlines()
    assert lines[0] == f"<!-- reconciler:plan dir=. org={sandbox_org.org} -->"
    assert lines[1].startswith("### Plan: 5 to add, 0 to change, 0 to destroy (")
    assert "planned at `0123456`" in lines[3]
    assert sum(line.startswith("+ create ") for line in lines) == 5
    assert len(out) < 65_536


def test_updates_show_field_changes(examples: Path, sandbox_org: SandboxOrg) -> None:
    flags, env = against(sandbox_org)
    run("plan", ".", *flags, "-o", "plan.json", cwd=examples, env=env)
    seed_from_plan(sandbox_org, examples / "plan.json", env)
    sandbox_org.guardrail("Made in the UI", totalThreshold=1)
    budget = examples / "guardrails" / "project-budget.yaml"
    budget.write_text(budget.read_text().replace("totalThreshold: 25000", "totalThreshold: 20000"))
    code, out, err = run(
        "plan", ".", *flags, "--detailed-exitcode", "--fail-on-unmanaged", cwd=examples, env=env
    )
    assert code == 2, err
    assert "totalThreshold" in out and "25000" in out and "20000" in out
    assert "Made in the UI" in out
    assert out.splitlines()[-1] == "Plan: 0 to add, 1 to change, 0 to destroy."


def test_saved_plan_shows_the_same_and_holds_no_secret(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org, FINOPS_SLACK_WEBHOOK=HOOK)
    code, planned, _ = run("plan", ".", *flags, "-o", "out/plan.json", cwd=examples, env=env)
    assert code == 0
    code, shown, _ = run("show", "out/plan.json", cwd=examples)
    assert (code, shown) == (0, planned)
    saved = (examples / "out" / "plan.json").read_text()
    for secret in (sandbox_org.token, HOOK, "s3cr3t"):
        assert secret not in saved
        assert secret not in planned
    assert "sha256:" in saved  # the webhook travels as a fingerprint


def test_an_edited_plan_file_is_refused(examples: Path, sandbox_org: SandboxOrg) -> None:
    flags, env = against(sandbox_org)
    run("plan", ".", *flags, "-o", "plan.json", cwd=examples, env=env)
    path = examples / "plan.json"
    path.write_text(path.read_text().replace("Production cost increase", "Production cost"))
    code, _, err = run("show", "plan.json", cwd=examples)
    assert code == 1 and "checksum" in err


def test_snapshot_then_plan_without_token_or_network(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org, FINOPS_SLACK_WEBHOOK=HOOK)
    run("plan", ".", *flags, "-o", "plan.json", cwd=examples, env=env)
    seed_from_plan(sandbox_org, examples / "plan.json", env)
    code, out, err = run("snapshot", ".", *flags, "-o", "live.json", cwd=examples, env=env)
    assert code == 0, err
    snap = (examples / "live.json").read_text()
    assert HOOK not in snap and sandbox_org.token not in snap
    # no token, an API that cannot be reached: the snapshot is all it needs
    code, out, err = run(
        "plan",
        ".",
        "--org",
        sandbox_org.org,
        "--api",
        "https://127.0.0.1:9/v1",
        "--live",
        "live.json",
        "--detailed-exitcode",
        cwd=examples,
        env={"FINOPS_SLACK_WEBHOOK": HOOK},
    )
    assert code == 0, out + err
    assert "No changes." in out


def test_the_settings_conflict_rule_stops_plan(examples: Path) -> None:
    env = {"INFRACOST_API_URL": "https://api.infracost.io/v1", "INFRACOST_SERVICE_TOKEN": "ics_x"}
    code, out, err = run("plan", ".", cwd=examples, env=env)
    assert code == 1 and out == ""
    assert "INFRACOST_API_URL" in err and "--api" in err


def test_embedded_sandbox_needs_no_account(examples: Path) -> None:
    env = {"INFRACOST_SERVICE_TOKEN": "ics_v1_never_sent_anywhere"}
    code, out, err = run("plan", ".", "--detailed-exitcode", cwd=examples, env=env)
    assert code == 2, err
    assert out.startswith("org acme @ sandbox: nothing reaches Infracost")
    assert (examples / ".reconciler" / "sandbox.db").is_file()


def test_plan_refuses_invalid_input(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("org: acme\napi: sandbox\n")
    (tmp_path / "p.yaml").write_text("kind: TaggingPolicy\nname: P\n")
    code, out, err = run("plan", ".", cwd=tmp_path)
    assert code == 1 and out == ""
    assert 'p.yaml:1:1: TaggingPolicy "P": missing required field "tags"' in err


def test_a_missing_token_is_a_clear_error(examples: Path) -> None:
    code, _, err = run("plan", ".", "--api", "https://api.infracost.io/v1", cwd=examples)
    assert code == 1 and "INFRACOST_SERVICE_TOKEN is not set" in err


def test_bad_target_is_a_usage_error(examples: Path) -> None:
    code, _, err = run("plan", ".", "--target", "Budget/x", cwd=examples)
    assert code == 1 and "--target" in err


def test_targets_leave_the_custom_properties_out_unless_named(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    partial = ["--target", "Guardrail/Project budget", "--format", "json"]
    code, out, _ = run("plan", ".", *flags, *partial, cwd=examples, env=env)
    assert code == 0 and json.loads(out)["customProperties"] is None
    code, out, _ = run(
        "plan", ".", *flags, *partial, "--target", "CustomProperties/csv", cwd=examples, env=env
    )
    assert json.loads(out)["customProperties"]["status"] == "sync"
    code, out, _ = run(
        "plan",
        ".",
        *flags,
        "--exclude",
        "CustomProperties/csv",
        "--format",
        "json",
        cwd=examples,
        env=env,
    )
    assert json.loads(out)["customProperties"] is None


def test_markdown_names_the_pull_requests_head_commit(
    examples: Path, sandbox_org: SandboxOrg, tmp_path: Path
) -> None:
    flags, env = against(sandbox_org)
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": "feedface"}}}))
    env = {**env, "GITHUB_SHA": "mergecommit", "GITHUB_EVENT_PATH": str(payload)}
    code, out, _ = run("plan", ".", *flags, "--format", "markdown", cwd=examples, env=env)
    assert code == 0 and "planned at `feedfac`" in out and "mergecommit" not in out


def test_a_snapshot_plan_without_the_secrets_shows_no_phantom_webhook_change(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    """Pull-request jobs hold no secrets: a fromEnv value is unknown there, never its default
    (the examples' guardrail says default: ""), and only its reference is compared."""
    flags, env = against(sandbox_org, FINOPS_SLACK_WEBHOOK=HOOK)
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
    assert code == 0, out + err
    code, out, err = run("snapshot", ".", *flags, "-o", "live.json", cwd=examples, env=env)
    assert code == 0, err
    assert '"fromEnv": "FINOPS_SLACK_WEBHOOK"' in (examples / "live.json").read_text()
    offline = ("--org", sandbox_org.org, "--api", "https://127.0.0.1:9/v1", "--live", "live.json")
    code, out, err = run("plan", ".", *offline, "--detailed-exitcode", cwd=examples, env={})
    assert code == 0, out + err
    assert out.splitlines()[-1] == "No changes."
    assert "webhookUrl not compared: FINOPS_SLACK_WEBHOOK is not available here" in out
    assert "the reference is unchanged" in out
    code, md, err = run("plan", ".", *offline, "--format", "markdown", cwd=examples, env={})
    assert code == 0, err
    assert "### No changes" in md and "webhookUrl" not in md.split("#### Warnings")[0]

    # a changed reference is a change, and a change of who gets notified
    hook_file = examples / "guardrails" / "production-pr-limit.yaml"
    hook_file.write_text(hook_file.read_text().replace("FINOPS_SLACK_WEBHOOK", "FINOPS_TEAMS"))
    code, out, err = run("plan", ".", *offline, "--detailed-exitcode", cwd=examples, env={})
    assert code == 2, out + err
    assert "webhookUrl: fromEnv FINOPS_SLACK_WEBHOOK -> fromEnv FINOPS_TEAMS" in out
    assert "[who is notified]" in out
    hook_file.write_text(hook_file.read_text().replace("FINOPS_TEAMS", "FINOPS_SLACK_WEBHOOK"))

    # against the API without the secret (--no-secrets, as the PR job passes): no change either
    code, out, err = run(
        "plan",
        ".",
        *flags,
        "--no-secrets",
        "--detailed-exitcode",
        cwd=examples,
        env=env | {"FINOPS_SLACK_WEBHOOK": ""},
    )
    assert code == 0, out + err
    assert "does not record which variable" in out
    # the idempotency check, with the secret: apply changed nothing that plan would undo
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=examples, env=env)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "No changes."


def test_a_mass_delete_is_allowed_by_the_setting_the_pull_request_carries(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    """The PR workflow cannot pass --allow-mass-delete; allowMassDelete: true in reconciler.yaml
    travels with the commit to the apply on main, and every plan says it is set."""
    flags, env = against(sandbox_org, FINOPS_SLACK_WEBHOOK=HOOK)
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
    assert code == 0, out + err
    for file in (examples / "guardrails").glob("*.yaml"):
        name = next(x for x in file.read_text().splitlines() if x.startswith("name:"))
        file.write_text(f"kind: Guardrail\n{name}\nabsent: true\n")
    code, out, err = run("plan", ".", *flags, cwd=examples, env=env)
    assert code == 1
    assert out.splitlines()[-1] == "Plan refused (1 problem): would add 0, change 0, destroy 2."
    assert "  x Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete)" in out
    config = examples / "reconciler.yaml"
    config.write_text(config.read_text() + "allowMassDelete: true\n")
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=examples, env=env)
    assert code == 2, out + err
    assert "allowMassDelete: true in reconciler.yaml: the mass-delete guard is off" in out
    assert out.splitlines()[-1] == "Plan: 0 to add, 0 to change, 2 to destroy."
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=examples, env=env)
    assert code == 0, out + err
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=examples, env=env)
    assert code == 0 and out.splitlines()[-1] == "No changes.", out + err


def test_a_plan_made_without_the_secrets_cannot_be_applied(
    examples: Path, sandbox_org: SandboxOrg
) -> None:
    flags, env = against(sandbox_org)
    code, _, err = run(
        "plan", ".", *flags, "--no-secrets", "-o", "plan.json", cwd=examples, env=env
    )
    assert code == 0, err
    assert json.loads((examples / "plan.json").read_text())["plan"]["secretsCompared"] is False
    writes = sandbox_org.writes()
    code, _, err = run("apply", "plan.json", *flags, cwd=examples, env=env)
    assert code == 1
    assert "planned with --no-secrets (fromEnv values were not compared)" in err
    assert sandbox_org.writes() == writes


def test_an_empty_secret_variable_is_unset_and_never_clears_the_webhook(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """GitHub passes a secret the environment lacks as "": that is an unset variable, not a
    webhook to clear. Plan shows no change to it, apply writes nothing."""
    (tmp_path / "g.yaml").write_text(
        "kind: Guardrail\nname: Budget\nscope: PULL_REQUEST\nincreaseThreshold: 100\n"
        "webhookUrl: {fromEnv: HOOK}\n"
    )
    flags, env = against(sandbox_org, HOOK=HOOK)
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=tmp_path, env=env)
    assert code == 0, out + err
    writes = sandbox_org.writes()
    empty = env | {"HOOK": ""}
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=tmp_path, env=empty)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "No changes." and '-> ""' not in out
    code, out, err = run("apply", ".", *flags, "--auto-approve", cwd=tmp_path, env=empty)
    assert code == 0, out + err
    assert sandbox_org.writes() == writes
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=tmp_path, env=env)
    assert code == 0 and out.splitlines()[-1] == "No changes.", out + err


def test_the_list_requests_start_early_but_errors_keep_their_order(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """plan lists the live state while it reads the files: with a valid directory it plans
    from those listings (one per kind); with errors in the files they are reported first, and
    nothing the early requests did shows; a missing token is reported after the files' errors."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "reconciler.yaml").write_text("org: acme\n")
    (d / "g.yaml").write_text("kind: Guardrail\nname: G\nscope: PROJECT\ntotalThreshold: 5\n")
    flags, env = against(sandbox_org)
    before = sandbox_org.requests()
    code, out, err = run("plan", ".", *flags, cwd=d, env=env)
    assert code == 0, err
    assert '+ create Guardrail "G"' in out
    assert sandbox_org.requests() - before == len(OBJECT_KINDS)

    (d / "g.yaml").write_text("kind: Guardrail\nname: G\nscope: NOWHERE\n")
    code, out, err = run("plan", ".", *flags, cwd=d, env=env)
    assert code == 1 and "g.yaml:3" in err and "NOWHERE" in err
    assert "INFRACOST_SERVICE_TOKEN" not in err
    code, out, err = run("plan", ".", *flags, cwd=d, env={})  # no token, and errors
    assert code == 1 and "g.yaml:3" in err and "INFRACOST_SERVICE_TOKEN" not in err
    (d / "g.yaml").write_text("kind: Guardrail\nname: G\nscope: PROJECT\n")
    code, out, err = run("plan", ".", *flags, cwd=d, env={})  # no token, valid files
    assert code == 1 and "INFRACOST_SERVICE_TOKEN is not set" in err

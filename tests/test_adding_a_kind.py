"""A kind added in the test suite (tests/kinds/budget.py) is planned, applied, exported and
round-tripped by the unchanged package, and keeps the unknown keys the API adds to its nested
object."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler import kinds
from reconciler.config import config_schema
from reconciler.sandbox import resources
from tests.helpers.cli import against, run
from tests.helpers.sandbox import MakeSandbox, SandboxOrg
from tests.kinds.budget import SANDBOX_ENTRY, Budget

BUDGET = """\
kind: Budget
name: Platform
amount: 5000
owners: [ann, bob]
notify:
  channel: "#platform-costs"
  emails: [finops@acme.example]
"""


@pytest.fixture
def budget_org(make_sandbox: MakeSandbox) -> Iterator[SandboxOrg]:
    with kinds.registered(Budget()), resources.registered(SANDBOX_ENTRY):
        yield make_sandbox().new_org("budget")


def _write(directory: Path, budget: str = BUDGET) -> Path:
    (directory / "budgets").mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text("prune: [Budget]\n", encoding="utf-8")
    (directory / "budgets" / "platform.yaml").write_text(budget, encoding="utf-8")
    return directory


def _live_budgets(org: SandboxOrg) -> list[dict[str, object]]:
    response = org.request("GET", "budgets")
    assert response.status_code == 200, response.text
    data: list[dict[str, object]] = response.json()["data"]
    return data


def test_the_registry_decides_what_prune_accepts(budget_org: SandboxOrg) -> None:
    assert "Budget" in kinds.prunable()
    assert config_schema() != kinds.CONFIG_SCHEMA  # the file lists only the package's kinds


def test_a_new_kind_validates_plans_applies_and_plans_no_changes(
    budget_org: SandboxOrg, tmp_path: Path
) -> None:
    flags, env = against(budget_org)
    directory = _write(tmp_path / "desired")
    code, out, err = run("validate", str(directory), cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert "1 Budget" in out

    code, out, err = run("plan", str(directory), *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert '+ create Budget "Platform"' in out
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in out

    code, out, err = run("apply", str(directory), "--auto-approve", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    (live,) = _live_budgets(budget_org)
    assert live["attributes"] == {
        "name": "Platform",
        "amount": 5000,
        "owners": ["ann", "bob"],
        "notify": {"channel": "#platform-costs", "emails": ["finops@acme.example"]},
    }

    # owners in another order is no change: a set-like list of the new kind
    _write(directory, BUDGET.replace("[ann, bob]", "[bob, ann]"))
    code, out, err = run(
        "plan", str(directory), "--detailed-exitcode", *flags, cwd=tmp_path, env=env
    )
    assert code == 0, out + err
    assert "No changes." in out


def test_an_unknown_nested_key_survives_an_update(budget_org: SandboxOrg, tmp_path: Path) -> None:
    flags, env = against(budget_org)
    directory = _write(tmp_path / "desired")
    code, out, err = run("apply", str(directory), "--auto-approve", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    (live,) = _live_budgets(budget_org)
    # the API (another client, a newer API version) adds a key reconciler does not model
    notify = {"channel": "#platform-costs", "emails": ["finops@acme.example"], "escalation": "pd"}
    patched = budget_org.request(
        "PATCH",
        "budgets",
        str(live["id"]),
        json={"data": {"type": "budgets", "id": live["id"], "attributes": {"notify": notify}}},
    )
    assert patched.status_code == 200, patched.text

    _write(directory, BUDGET.replace("#platform-costs", "#finops").replace("5000", "4000"))
    code, out, err = run("plan", str(directory), *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert "notify.channel" in out and "amount" in out
    assert "notify has attributes reconciler does not manage (escalation); they are kept" in out

    code, out, err = run("apply", str(directory), "--auto-approve", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    (after,) = _live_budgets(budget_org)
    assert after["attributes"]["notify"] == {  # type: ignore[index]
        "channel": "#finops",
        "emails": ["finops@acme.example"],
        "escalation": "pd",
    }
    assert after["attributes"]["amount"] == 4000  # type: ignore[index]
    code, out, err = run(
        "plan", str(directory), "--detailed-exitcode", *flags, cwd=tmp_path, env=env
    )
    assert code == 0, out + err


def test_a_new_kind_exports_and_round_trips(budget_org: SandboxOrg, tmp_path: Path) -> None:
    flags, env = against(budget_org)
    directory = _write(tmp_path / "desired")
    code, out, err = run("apply", str(directory), "--auto-approve", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err

    exported = tmp_path / "exported"
    code, out, err = run(
        "export", "-o", str(exported), "--kinds", "Budget", *flags, cwd=tmp_path, env=env
    )
    assert code == 0, out + err
    document = yaml.safe_load((exported / "budgets" / "platform.yaml").read_text("utf-8"))
    assert document == {
        "kind": "Budget",
        "name": "Platform",
        "amount": 5000,
        "owners": ["ann", "bob"],
        "notify": {"channel": "#platform-costs", "emails": ["finops@acme.example"]},
    }
    code, out, err = run(
        "plan", str(exported), "--prune", "--detailed-exitcode", *flags, cwd=tmp_path, env=env
    )
    assert code == 0, out + err
    assert "No changes." in out

    # and prune, which the registry says the new kind allows, deletes what is not declared
    (directory / "budgets" / "platform.yaml").write_text(
        BUDGET.replace("Platform", "Data"), encoding="utf-8"
    )
    code, out, err = run(
        "plan", str(directory), "--allow-mass-delete", *flags, cwd=tmp_path, env=env
    )
    assert code == 0, out + err
    assert '- delete Budget "Platform"' in out

"""export: adopt an existing org; the round trip is exact (export, then plan: no changes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from reconciler.kinds.base import slug
from tests.helpers.cli import against, run
from tests.helpers.golden import regenerating
from tests.helpers.sandbox import SandboxOrg

GOLDEN = Path(__file__).parent / "golden" / "export"
HOOK = "https://hooks.slack.com/services/T0/B0/s3cr3t"


def seed_edge_cases(org: SandboxOrg) -> None:
    org.policy("Empty filters", tags=[{"key": "team"}], filters={})
    org.policy(
        "Every value type",
        message="Tag it",
        blockPr=True,
        filters={
            "repos": {"include": ["acme/b*", "acme/a*"], "exclude": []},
            "resources": {"include": [], "exclude": ["aws_iam_role"]},
        },
        tags=[
            {
                "key": "env",
                "mandatory": True,
                "valueType": "REGEX",
                "allowedRegex": "^(dev|prod)$",
                "message": "dev or prod",
            },
            {"key": "owner", "valueType": "ANY"},
            {"key": "team", "valueType": "LIST", "allowedValues": ["yes", "010", "1e3", "b", "a"]},
        ],
    )
    org.policy(
        "Big list",
        tags=[
            {
                "key": "app_id",
                "mandatory": True,
                "valueType": "LIST",
                "allowedValues": [f"APP-{i:06d}" for i in range(50_000)],
            }
        ],
    )
    org.policy("Café \u2013 naïve ünïcode ✓", tags=[{"key": "x"}])
    org.policy("Platform/Network", tags=[{"key": "x"}])
    org.policy("platform network", tags=[{"key": "x"}])  # the same slug as the one above
    org.guardrail("Twin", scope="PROJECT", totalThreshold=1)
    org.guardrail("Twin", scope="PROJECT", totalThreshold=2)
    org.guardrail("Zero and null", scope="PROJECT", increaseThreshold=0, totalThreshold=None)
    org.guardrail("No threshold", scope="REPO")
    org.guardrail(
        "Hooked",
        scope="PULL_REQUEST",
        increaseThreshold=100.5,
        webhookUrl=HOOK,
        prComment=True,
        mailingListEmails=["b@acme-inc.com", "a@acme-inc.com"],
        filters={"baseBranches": {"include": ["main"], "exclude": []}},
    )


def test_round_trip(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    seed_edge_cases(sandbox_org)
    flags, env = against(sandbox_org)
    code, out, err = run("export", "-o", "adopted", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert "Exported 6 TaggingPolicy, 5 Guardrail" in out
    assert "several live objects share this name" in out
    assert "INFRACOST_GUARDRAIL_HOOKED_WEBHOOK_URL" in out
    adopted = tmp_path / "adopted"
    assert HOOK not in "".join(p.read_text() for p in adopted.rglob("*") if p.is_file())
    assert (adopted / "tagging-policies" / "big-list.app-id.csv").is_file()
    assert {p.name for p in (adopted / "tagging-policies").glob("platform-network*")} == {
        "platform-network.yaml",
        "platform-network-2.yaml",
    }
    code, out, err = run("validate", "adopted", cwd=tmp_path)
    assert code == 0, out + err
    # the webhook variable unset: unknown, not a change; set: equal by fingerprint
    for extra in ({}, {"INFRACOST_GUARDRAIL_HOOKED_WEBHOOK_URL": HOOK}):
        code, out, err = run(
            "plan",
            "adopted",
            *flags,
            "--prune",
            "--detailed-exitcode",
            cwd=tmp_path,
            env={**env, **extra},
        )
        assert code == 0, out + err
        assert out.rstrip().endswith("No changes.")


def test_existing_files_are_not_overwritten_without_force(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    sandbox_org.guardrail("G", scope="PROJECT", totalThreshold=1)
    flags, env = against(sandbox_org)
    (tmp_path / "adopted").mkdir()
    (tmp_path / "adopted" / "mine.txt").write_text("keep me")
    code, _, err = run("export", "-o", "adopted", *flags, cwd=tmp_path, env=env)
    assert code == 1 and "--force" in err
    assert [p.name for p in (tmp_path / "adopted").iterdir()] == ["mine.txt"]
    code, _, err = run("export", "-o", "adopted", *flags, "--force", cwd=tmp_path, env=env)
    assert code == 0, err
    assert (tmp_path / "adopted" / "mine.txt").read_text() == "keep me"
    assert (tmp_path / "adopted" / "guardrails" / "g.yaml").is_file()


def test_no_half_written_tree_on_failure(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    flags, env = against(sandbox_org)
    env = {**env, "INFRACOST_SERVICE_TOKEN": "ics_v1_wrong"}
    code, _, err = run("export", "-o", "adopted", *flags, cwd=tmp_path, env=env)
    assert code == 1 and "401" in err
    assert list(tmp_path.iterdir()) == []


def test_golden_tree_of_a_small_org(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    sandbox_org.policy(
        "Application ID",
        message="Every resource needs a registered application ID.",
        blockPr=True,
        filters={"repos": {"include": ["acme/infra-*"], "exclude": []}},
        tags=[
            {
                "key": "app_id",
                "mandatory": True,
                "valueType": "LIST",
                "allowedValues": ["APP-00042", "APP-00007"],
                "message": "Register it at https://services.acme-inc.com/list",
            }
        ],
    )
    sandbox_org.guardrail(
        "Production cost increase",
        scope="PULL_REQUEST",
        increaseThreshold=1000,
        message="Over $1,000 a month: FinOps reviews it.",
        prComment=True,
        webhookUrl=HOOK,
    )
    flags, env = against(sandbox_org)
    assert run("export", "-o", "out", *flags, cwd=tmp_path, env=env)[0] == 0
    ids: dict[str, str] = {}

    def stable(text: str) -> str:
        text = text.replace(sandbox_org.org, "ORG").replace(sandbox_org.base_url, "URL")
        return re.sub(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            lambda m: ids.setdefault(m.group(0), f"ID-{len(ids) + 1}"),
            text,
        )

    tree = "".join(
        f"==> {p.relative_to(tmp_path / 'out').as_posix()} <==\n{stable(p.read_text())}"
        for p in sorted((tmp_path / "out").rglob("*"))
        if p.is_file()
    )
    golden = GOLDEN / "small-org.txt"
    if regenerating():
        golden.write_text(tree)
    assert tree == golden.read_text()
    # of its own, whatever the golden file says (REGENERATE rewrites it):
    out = tmp_path / "out"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "guardrails/production-cost-increase.yaml",
        "reconciler.yaml",
        "tagging-policies/application-id.yaml",
    ]
    assert HOOK not in tree and sandbox_org.token not in tree  # secrets are never written
    guardrail = yaml.safe_load((out / files[1]).read_text())
    assert guardrail["webhookUrl"] == {
        "fromEnv": "INFRACOST_GUARDRAIL_PRODUCTION_COST_INCREASE_WEBHOOK_URL"
    }
    policy = yaml.safe_load((out / files[3]).read_text())
    assert policy["name"] == "Application ID"
    assert policy["tags"][0]["allowedValues"] == ["APP-00007", "APP-00042"]  # sorted


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Application ID", "application-id"),
        ("Platform/Network", "platform-network"),
        ("Café \u2013 naïve", "cafe-naive"),
        ("✓✓✓", "unnamed"),
        ("x" * 100, "x" * 60),
    ],
)
def test_slugs(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("export", "--kinds", "Budget", "--org", "x", cwd=tmp_path)
    assert code == 1 and "--kinds" in err

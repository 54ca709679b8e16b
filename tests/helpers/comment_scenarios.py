"""The six pull requests the plan comment is judged by (issue 14), as plans and links.

Rendered into ``tests/golden/markdown/scenario-<name>.md``; render one with a GFM renderer and
GitHub's stylesheet at 900 px to see it as a reviewer does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from reconciler.desired import prepare
from reconciler.model import Change, FieldChange, Note, Plan, Ref
from reconciler.plan import Options, make_plan
from reconciler.render.markdown import Links
from tests.helpers.examples import copy_examples
from tests.helpers.plans import object_id

ROOT = Path(__file__).resolve().parent.parent.parent
HEAD = "4f2c9e1d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
MAIN = "abc1234def5678901234567890abcdef12345678"
LINKS = Links(
    server="https://github.com",
    repository="acme/governance",
    run_id="9876543210",
    commit=HEAD,
    now=datetime(2026, 11, 29, 15, 0, tzinfo=UTC),
)
SNAPSHOT = {"file": "live.json", "ref": "main", "commit": MAIN, "takenAt": "2026-11-29T12:00:00Z"}


def everything_created(tmp: Path) -> Plan:
    """The examples directory against an empty org, as the pipeline plans it (no network)."""
    directory = copy_examples(tmp / "examples")
    prepared = prepare(directory, flag_org="acme", flag_api="sandbox", env={})
    plan = make_plan(
        prepared,
        {},
        Options(prune=False),
        org="acme",
        api="sandbox",
        baseline=None,
        display_dir="examples",
    )
    return plan


def _values(prefix: str, n: int, start: int = 0) -> tuple[str, ...]:
    return tuple(f"{prefix}-{i:05d}" for i in range(start, start + n))


def five_thousand_values(tmp: Path) -> Plan:
    """A 5,000-value list: 30 values added (3 of them flawed) and 12 removed."""
    flawed = ("APP-0O123", "app-01234", "APP-01234 ")
    added = tuple(sorted(_values("APP", 27, 5000) + flawed))
    removed = _values("APP", 12, 100)
    notes = (
        Note(
            "data/servicenow-apps.csv",
            5031,
            '"APP-0O123" looks like "APP-00123" (letter O for digit 0)',
            "TaggingPolicy",
            "Application ID",
            "tags[app_id].allowedValuesFrom",
            ("APP-0O123", "APP-00123"),
            "APP-00123",
        ),
        Note(
            "data/servicenow-apps.csv",
            5032,
            '"app-01234" and "APP-01234" differ only in case',
            "TaggingPolicy",
            "Application ID",
            "tags[app_id].allowedValuesFrom",
            ("app-01234", "APP-01234"),
            "APP-01234",
        ),
        Note(
            "data/servicenow-apps.csv",
            5033,
            '"APP-01234 " has a trailing space',
            "TaggingPolicy",
            "Application ID",
            "tags[app_id].allowedValuesFrom",
            ("APP-01234 ",),
            "APP-01234",
        ),
    )
    change = Change(
        "update",
        Ref("TaggingPolicy", "Application ID", object_id(1)),
        fields=(
            FieldChange(
                "tags[app_id].allowedValues",
                added=added,
                removed=removed,
                unchanged=4_970,
                is_set=True,
                governance="mixed",
            ),
        ),
        governance="mixed",
    )
    return Plan(
        "acme",
        "snapshot:live.json",
        "governance",
        (change, *_in_sync(4)),
        hygiene=tuple(f"{n.file}:{n.line}: {n.subject}: {n.message}" for n in notes),
        hygiene_notes=notes,
        snapshot=SNAPSHOT,
    )


def _in_sync(n: int) -> tuple[Change, ...]:
    return tuple(
        Change("no-op", Ref("Guardrail", f"Kept {i}", object_id(50 + i))) for i in range(n)
    )


def mixed(tmp: Path) -> Plan:
    """A threshold lowered, a webhook replaced, a guardrail deleted, a policy created."""
    return Plan(
        "acme",
        "snapshot:live.json",
        "governance",
        (
            Change(
                "create",
                Ref("TaggingPolicy", "Data classification"),
                fields=(
                    FieldChange("name", after="Data classification", governance="neutral"),
                    FieldChange(
                        "message",
                        after="Every resource that stores data needs a data_class tag: public, "
                        "internal, confidential or restricted. See the data handling standard "
                        "on the wiki before choosing one.",
                        governance="neutral",
                    ),
                    FieldChange("prComment", after=True, governance="neutral"),
                    FieldChange("blockPr", after=False, governance="neutral"),
                    FieldChange(
                        "tags",
                        after={
                            "data_class": {
                                "key": "data_class",
                                "valueType": "LIST",
                                "mandatory": True,
                                "allowedValues": [
                                    "confidential",
                                    "internal",
                                    "public",
                                    "restricted",
                                ],
                            }
                        },
                        governance="neutral",
                    ),
                ),
                governance="tightening",
            ),
            Change(
                "update",
                Ref("Guardrail", "Production cost increase", object_id(2)),
                fields=(
                    FieldChange("totalThreshold", 25_000, 15_000, governance="tightening"),
                    FieldChange(
                        "webhookUrl",
                        "fromEnv FINOPS_SLACK_WEBHOOK",
                        "fromEnv FINOPS_TEAMS_WEBHOOK",
                        secret=True,
                        governance="neutral",
                    ),
                ),
                governance="tightening",
            ),
            Change(
                "update",
                Ref("Guardrail", "Project budget", object_id(3)),
                fields=(
                    FieldChange(
                        "webhookUrl", "sha256:6a03edf49689", "", secret=True, governance="neutral"
                    ),
                ),
                governance="neutral",
            ),
            Change(
                "delete",
                Ref("Guardrail", "Legacy sandbox limit", object_id(4)),
                governance="loosening",
                reason="absent: true",
            ),
            *_in_sync(3),
        ),
        validation=(
            Note(
                "guardrails/project-budget.yaml",
                4,
                "REPO is accepted for older clients; Infracost documents PULL_REQUEST and PROJECT",
                "Guardrail",
                "Project budget",
                "scope",
            ),
        ),
        snapshot=SNAPSHOT,
    )


def refused(tmp: Path) -> Plan:
    """A prune that would delete every guardrail, one of them protected."""
    deletes = tuple(
        Change(
            "delete",
            Ref("Guardrail", name, object_id(60 + i)),
            governance="loosening",
            reason="prune: not declared",
        )
        for i, name in enumerate(("Crown jewels", "Staging limit", "Sandbox limit"))
    )
    return Plan(
        "acme",
        "snapshot:live.json",
        "governance",
        (
            Change(
                "create",
                Ref("TaggingPolicy", "Owner"),
                fields=(
                    FieldChange("name", after="Owner", governance="neutral"),
                    FieldChange(
                        "tags",
                        after={
                            "owner": {
                                "key": "owner",
                                "valueType": "REGEX",
                                "mandatory": True,
                                "allowedRegex": "^team-[a-z]+$",
                                "allowedValues": [],
                            }
                        },
                        governance="neutral",
                    ),
                ),
                governance="tightening",
            ),
            Change(
                "update",
                Ref("TaggingPolicy", "Environment", object_id(5)),
                fields=(FieldChange("blockPr", False, True, governance="tightening"),),
                governance="tightening",
            ),
            *deletes,
        ),
        errors=(
            "Keep Guardrail/Crown jewels declared, or remove its protect: true first: "
            "protect: true forbids deleting it",
            "Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete) if you "
            "mean it: the plan deletes every live Guardrail (3)",
        ),
        snapshot=SNAPSHOT,
    )


def no_changes(tmp: Path) -> Plan:
    return Plan(
        "acme",
        "snapshot:live.json",
        "governance",
        _in_sync(2)
        + tuple(
            Change("no-op", Ref("TaggingPolicy", n, object_id(70 + i)))
            for i, n in enumerate(("Application ID", "Environment", "Cost center"))
        ),
        warnings=(
            "Guardrail/Production cost increase: webhookUrl not compared: FINOPS_SLACK_WEBHOOK "
            "is not available here (a plan against a snapshot, or --no-secrets); the reference "
            "is unchanged",
        ),
        snapshot=SNAPSHOT,
    )


def many_creates(tmp: Path) -> Plan:
    """369 guardrails created at once: one per team."""
    changes = tuple(
        Change(
            "create",
            Ref("Guardrail", f"Team {i:03d} monthly budget"),
            fields=(
                FieldChange("name", after=f"Team {i:03d} monthly budget", governance="neutral"),
                FieldChange("scope", after="PROJECT", governance="neutral"),
                FieldChange("totalThreshold", after=1_000 + 250 * (i % 40), governance="neutral"),
                FieldChange(
                    "message",
                    after=f"Team {i:03d} is over its monthly budget: ask in #finops first.",
                    governance="neutral",
                ),
                FieldChange(
                    "filters",
                    after={"projects": {"include": [f"acme/team-{i:03d}-*"], "exclude": []}},
                    governance="neutral",
                ),
                FieldChange("blockPr", after=False, governance="neutral"),
            ),
            governance="tightening",
        )
        for i in range(369)
    )
    return Plan("acme", "snapshot:live.json", "governance", changes, snapshot=SNAPSHOT)


SCENARIOS: dict[str, Callable[[Path], Plan]] = {
    "everything-created": everything_created,
    "five-thousand-values": five_thousand_values,
    "mixed": mixed,
    "refused": refused,
    "no-changes": no_changes,
    "369-creates": many_creates,
}


def scenario(name: str, tmp: Path) -> Plan:
    return SCENARIOS[name](tmp)

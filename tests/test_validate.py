"""Valid inputs: what validation makes of them, and the examples directory."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.desired import read_desired
from reconciler.model import SecretRef
from tests.helpers.cli import run
from tests.helpers.examples import write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def test_examples_are_valid() -> None:
    code, out, err = run("validate", "examples", cwd=ROOT)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1] == (
        "Valid with 1 warning: 1 CustomProperties, 2 Guardrail, 3 TaggingPolicy in 6 files."
    )
    assert lines[0].startswith("examples/policies/application-id.yaml:20:24: warning: ")
    assert "2 repeated value(s)" in lines[0]


def test_examples_as_json() -> None:
    code, out, _ = run("validate", "examples", "--format", "json", cwd=ROOT)
    report = json.loads(out)
    assert code == 0 and report["valid"] is True
    assert report["resources"] == {"CustomProperties": 1, "Guardrail": 2, "TaggingPolicy": 3}
    assert report["problems"][0]["severity"] == "warning"
    assert report["problems"][0]["field"] == "tags[app_id].allowedValuesFrom"


def test_strict_turns_the_examples_warning_into_an_error() -> None:
    code, out, _ = run("validate", "examples", "--strict", cwd=ROOT)
    assert code == 1 and out.splitlines()[-1] == "Invalid: 1 error."


def test_examples_resources_are_complete() -> None:
    state = read_desired(EXAMPLES)
    assert not state.errors
    by_name = {r.name: r for r in state.resources}
    app = by_name["Application ID"].attributes
    (tag,) = app["tags"]
    assert len(tag["allowedValues"]) == 200  # 202 rows, 2 repeats removed
    assert "allowedValuesFrom" not in tag
    assert app["filters"]["projects"] == {"include": [], "exclude": []}
    assert app["filters"]["repos"]["exclude"] == ["acme/infra-sandbox"]
    guard = by_name["Production cost increase"]
    assert guard.attributes["webhookUrl"] == SecretRef("FINOPS_SLACK_WEBHOOK", "")
    assert guard.attributes["increasePercentThreshold"] is None
    assert guard.attributes["totalThreshold"] is None
    assert "kind" not in guard.attributes and "protect" not in guard.attributes
    assert state.custom_properties is not None
    assert state.custom_properties.header[0] == "repository"
    assert len(state.custom_properties.rows) == 10


def test_defaults_come_from_the_schemas(tmp_path: Path) -> None:
    write(tmp_path, {"p.yaml": "kind: TaggingPolicy\nname: P\ntags:\n  - key: env\n"})
    (res,) = read_desired(tmp_path).resources
    assert res.attributes == {
        "name": "P",
        "message": "",
        "prComment": True,
        "blockPr": False,
        "filters": {
            k: {"include": [], "exclude": []}
            for k in ("repos", "projects", "baseBranches", "resources")
        },
        "tags": [
            {
                "key": "env",
                "mandatory": False,
                "valueType": "ANY",
                "allowedValues": [],
                "allowedRegex": "",
                "message": "",
            }
        ],
    }


def test_pins_absent_and_protect(tmp_path: Path) -> None:
    pin = "0b0d6c1e-6f4e-4b3e-9a51-3c1b1f0e2a77"
    write(
        tmp_path,
        {
            "g.yaml": f"kind: Guardrail\nname: A\nid: {pin}\nscope: PROJECT\n"
            "totalThreshold: 5000\nprotect: true\n---\nkind: Guardrail\nname: Old\nabsent: true\n",
        },
    )
    state = read_desired(tmp_path)
    a, old = state.resources
    assert (a.id, a.protect, a.absent) == (pin, True, False)
    assert (old.name, old.absent, old.attributes) == ("Old", True, {})


def test_values_from_a_text_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "p/p.yaml": "kind: TaggingPolicy\nname: P\ntags:\n  - key: team\n    valueType: LIST\n"
            "    allowedValuesFrom: {file: ../teams.txt}\n",
            "teams.txt": "payments\r\nsearch\n\nsearch\n",
        },
    )
    state = read_desired(tmp_path)
    assert state.resources[0].attributes["tags"][0]["allowedValues"] == ["payments", "search"]
    assert sorted(p.message for p in state.warnings) == [
        '1 empty value(s) in "../teams.txt" skipped (first at line 3)',
        '1 repeated value(s) in "../teams.txt" removed (first: "search" at lines 2 and 4)',
    ]


def test_csv_values_are_rfc4180(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "p.yaml": "kind: TaggingPolicy\nname: P\ntags:\n  - key: app\n    valueType: LIST\n"
            "    allowedValuesFrom: {file: apps.csv, column: id}\n",
            "apps.csv": '\ufeffname,id\n"Payments, EU",APP-1\n"Multi\nline",APP-2\n',
        },
    )
    (res,) = read_desired(tmp_path).resources
    assert res.attributes["tags"][0]["allowedValues"] == ["APP-1", "APP-2"]


def test_discovery_skips_dot_directories_config_and_excludes(tmp_path: Path) -> None:
    bad = "this is: [not valid\n"
    write(
        tmp_path,
        {
            "reconciler.yaml": "exclude: ['ci/**', 'drafts/*.yml']\n",
            ".github/workflows/x.yaml": bad,
            ".reconciler/state.yaml": bad,
            "ci/deep/pipeline.yaml": bad,
            "drafts/a.yml": bad,
            "notes.txt": bad,
            "g.yml": "kind: Guardrail\nname: G\nscope: PROJECT\ntotalThreshold: 1\n",
        },
    )
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 0, out
    assert out == "Valid: 1 Guardrail in 1 file.\n"


def test_a_directory_with_nothing_to_validate_is_an_error(tmp_path: Path) -> None:
    # a wrong working directory in CI must not look green
    code, out, err = run("validate", ".", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith("Error: .: no reconciler.yaml and no resource files")
    (tmp_path / "reconciler.yaml").write_text("org: acme\n")
    assert run("validate", ".", cwd=tmp_path) == (0, "Valid: no resources in 0 files.\n", "")


def test_every_problem_at_once_sorted(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b.yaml": "kind: Guardrail\nname: G\nscope: PROJECT\ntotalThreshold: -1\nfoo: 1\n",
            "a.yaml": "kind: TaggingPolicy\nname: P\ntags: []\n",
        },
    )
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert out.splitlines() == [
        'a.yaml:3:7: warning: TaggingPolicy "P": tags: no tag rules: this policy checks nothing',
        'b.yaml:4:17: Guardrail "G": totalThreshold: must be 0 or more; got -1',
        'b.yaml:5:1: Guardrail "G": foo: unknown field "foo" (known: kind, name, id, absent, '
        "protect, scope, increaseThreshold, increasePercentThreshold, totalThreshold, message, "
        "webhookUrl, prComment, blockPr, emailRecipientOrgMemberIds, mailingListEmails, "
        "msTeamsEmails, filters)",
        "Invalid: 2 errors, 1 warning.",
    ]


def test_webhook_urls_never_appear_in_output(tmp_path: Path) -> None:
    hook = "https://hooks.slack.com/services/T0/B0/sekrit"
    write(
        tmp_path,
        {
            "g.yaml": f"kind: Guardrail\nname: G\nscope: PROJECT\nwebhookUrl: {hook}\n---\n"
            "kind: Guardrail\nname: H\nscope: PROJECT\n"
            f"webhookUrl: {{fromEnv: H, default: {hook}}}\n",
        },
    )
    for fmt in ("text", "json"):
        code, out, err = run("validate", ".", "--format", fmt, cwd=tmp_path, env={"H": hook})
        assert code == 1
        assert "sekrit" not in out + err


def test_a_quoted_empty_value_in_a_one_column_csv(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "p.yaml": "kind: TaggingPolicy\nname: P\ntags:\n  - key: app\n    valueType: LIST\n"
            "    allowedValuesFrom: {file: apps.csv, column: id}\n",
            "apps.csv": 'id\nA1\n""\n\nA2\n',
        },
    )
    state = read_desired(tmp_path)
    assert state.resources[0].attributes["tags"][0]["allowedValues"] == ["A1", "A2"]
    assert [p.message for p in state.warnings if "empty" in p.message] == [
        '1 empty value(s) in "apps.csv" skipped (first at line 3)'
    ]

"""No terminal or log injection (issue 13, item 5).

Names, tag keys, CSV values and live object names carry an ANSI escape, a line break followed by
a forged ``Plan: 0 to add`` summary, ``::add-mask::`` and ``::error::`` workflow commands (and
the runner's legacy ``##[error]``, which it honours anywhere in a line), C1 controls, line
separators and bidi overrides. Every line that validate, plan (text, markdown, JSON), apply and
export print must hold no raw control character, start no workflow command, and only the real
summary may start with ``Plan:``. JSON stays valid JSON with the same values.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.render import escape
from tests.helpers.cli import against, run
from tests.helpers.sandbox import MakeServiceNow, SandboxOrg, SandboxServer

FORGED = "Plan: 0 to add, 0 to change, 0 to destroy."
YAML_NAME = "\x1b[31mred\n" + FORGED  # as written in the YAML file, with escapes
LIVE_NAME = "::error::live\x1b[31m ##[error]legacy\u2028"
TWIN_NAME = "twin\n" + FORGED + "\r\x9b2J"  # two live objects share it: export warns

DESIRED = r"""kind: TaggingPolicy
name: "\e[31mred\nPlan: 0 to add, 0 to change, 0 to destroy."
tags:
  - key: "\n::add-mask::x"
    valueType: LIST
    allowedValuesFrom: {file: data/values.csv, column: value}
---
kind: TaggingPolicy
name: "::error::boom \u202Eevil ##[add-mask]y \x85z"
tags:
  - key: "::error::key\r\n::add-mask::k"
"""
CSV = 'value\n"::error::csv\x1b[0m"\n"a\u2028::add-mask::v"\nplain\n'


def _hidden(c: str) -> bool:
    return unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def assert_safe(output: str, summary: str | None = None) -> None:
    """No raw control, no workflow command, no ``Plan:`` line but the real ``summary``."""
    for line in output.split("\n"):
        raw = sorted({f"U+{ord(c):04X}" for c in line if _hidden(c)})
        assert not raw, (raw, line)
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line
        if line.lstrip().startswith("Plan:"):
            assert line == summary, line


# --- escaping: literal data ---------------------------------------------------------------------


def test_clean_shows_every_hidden_character_and_the_legacy_prefix() -> None:
    text = "a\x1b[31m\r\n\t\x00\x7f\x9b\u2028\u2029\u202e\u200b\ufeff\udc80##[error]"
    assert escape.clean(text) == (
        "a\\u001b[31m\\r\\n\\t\\u0000\\u007f\\u009b\\u2028\\u2029\\u202e\\u200b\\ufeff"
        "\\udc80##\\u005berror]"
    )
    assert escape.quote('"\\\n') == '"\\"\\\\\\n"'
    assert escape.clean("é ü 日本 \u00a0") == "é ü 日本 \u00a0"  # readable text stays itself


def test_line_never_starts_a_workflow_command() -> None:
    assert escape.line("::error::x") == "\\u003a:error::x"
    assert escape.line("  \u00a0::add-mask::x") == "  \u00a0\\u003a:add-mask::x"
    assert escape.line("a ::error:: b") == "a ::error:: b"  # only at the start
    assert escape.lines("ok\n::warning::w\n x ##[error]y") == (
        "ok\n\\u003a:warning::w\n x ##\\u005berror]y"
    )


def test_json_dumps_escapes_hidden_characters_and_keeps_the_values() -> None:
    value = {"k\u2028": ["\x1b[31m", "\udc80", "\u202e", "##[error]", "é\U000e0001", "\x7f"]}
    text = escape.json_dumps(value, indent=2)
    assert json.loads(text) == value
    assert_safe(text)
    text.encode("utf-8")  # a lone surrogate is an escape: any stdout can write it
    assert "é" in text and "\\udb40\\udc01" in text  # readable text kept; astral as a pair


# --- the commands ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_org(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, SandboxOrg]]:
    """A directory whose names, tag key and CSV values are hostile, and an org whose live
    objects are: one with a desired name (an update), one undeclared, two that share a name."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "data").mkdir()
    (root / "p.yaml").write_text(DESIRED)
    (root / "data" / "values.csv").write_text(CSV, newline="")
    org = sandbox.new_org("hostile")
    (root / "reconciler.yaml").write_text(f"org: {org.org}\napi: {org.base_url}\n")
    key = "\n::add-mask::x"
    org.policy(YAML_NAME, tags=[{"key": key, "valueType": "LIST", "allowedValues": ["\x1b]0;t"]}])
    org.policy(LIVE_NAME, tags=[{"key": "\n::error::k\x1b[2J"}], message="::error::m\nPlan: 1")
    org.policy(TWIN_NAME)
    org.policy(TWIN_NAME)
    yield root, org
    org.session.close()


@pytest.fixture
def hostile(hostile_org: tuple[Path, SandboxOrg]) -> Path:
    return hostile_org[0]


def test_validate_lines_are_escaped(hostile: Path) -> None:
    code, out, err = run("validate", ".", cwd=hostile)
    assert code == 0, err
    assert "\\u001b[31mred\\nPlan: 0 to add" in out  # the name is there, escaped
    assert_safe(out + err)
    code, out, err = run("validate", ".", "--format", "json", cwd=hostile)
    assert code == 0, err
    names = {p["name"] for p in json.loads(out)["problems"]}
    assert "\x1b[31mred\n" + FORGED in names  # the same value, as JSON escapes
    assert_safe(out + err)


def test_validate_errors_naming_hostile_text_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(DESIRED + DESIRED.split("---")[0].replace("tags", "tagz"))
    (tmp_path / "::error::file.yaml").write_text("kind: Nope\n")  # a line starts with its path
    code, out, err = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert 'unknown field "tagz"' in out
    assert "\\u003a:error::file.yaml:1:" in out
    assert_safe(out + err)


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_plan_lines_are_escaped(hostile_org: tuple[Path, SandboxOrg], fmt: str) -> None:
    root, org = hostile_org
    env = against(org)[1]
    code, out, err = run("plan", ".", "--prune", "--format", fmt, cwd=root, env=env)
    assert code == 0, err
    summary = "Plan: 1 to add, 1 to change, 3 to destroy."
    if fmt == "json":
        plan = json.loads(out)
        names = {c["name"] for c in plan["changes"]}
        assert {YAML_NAME, LIVE_NAME, TWIN_NAME} <= names
    elif fmt == "text":
        assert out.rstrip("\n").endswith("\n" + summary)
        assert (
            '- delete TaggingPolicy "::error::live\\u001b[31m ##\\u005berror]legacy\\u2028"' in out
        )
    assert_safe(out + err, summary)


def _org_with_hostile_objects(sandbox: SandboxServer) -> SandboxOrg:
    org = sandbox.new_org("hostile-write")
    repos = {"include": ["a/b"], "\x1b[31mk\n::error::x": True}  # a key the API keeps
    org.policy(LIVE_NAME, tags=[{"key": "\n::error::k"}], filters={"repos": repos})
    org.policy(TWIN_NAME)
    org.policy(TWIN_NAME)
    return org


def test_export_lines_are_escaped(sandbox: SandboxServer, tmp_path: Path) -> None:
    org = _org_with_hostile_objects(sandbox)
    flags, env = against(org)
    code, out, err = run("export", *flags, "-o", "exported", cwd=tmp_path, env=env)
    assert code == 0, err
    assert re.search(r"warning: TaggingPolicy \"twin\\nPlan: 0 to add.*share this name", out)
    assert "filters.repos has keys reconciler does not manage (\\u001b[31mk\\n::error::x)" in out
    assert_safe(out + err)


def test_apply_events_are_escaped(sandbox: SandboxServer, hostile: Path, tmp_path: Path) -> None:
    org = _org_with_hostile_objects(sandbox)
    flags, env = against(org)
    code, out, err = run("apply", str(hostile), *flags, "--auto-approve", cwd=tmp_path, env=env)
    assert code == 0, err
    assert_safe(out + err, "Plan: 2 to add, 0 to change, 0 to destroy.")
    org.policy(YAML_NAME + " 2")  # one more change, applied with JSON events
    args = ("apply", str(hostile), *flags, "--auto-approve", "--prune", "--allow-mass-delete")
    code, out, err = run(*args, "--format", "json", cwd=tmp_path, env=env)
    assert code == 0, err
    assert all(isinstance(json.loads(line), dict) for line in out.splitlines() if line)
    assert_safe(out + err)


def test_pull_lines_are_escaped(make_servicenow: MakeServiceNow, tmp_path: Path) -> None:
    table = tmp_path / "apps.csv"
    hostile = [
        "::error::app\x1b[31m",
        "app\nPlan: 0 to add, 0 to change, 0 to destroy.",
        "##[x]\u2028",
    ]
    rows = [f'{i:032x},"{v}",name,1,1' for i, v in enumerate(hostile)]
    header = "sys_id,u_app_id,name,operational_status,install_status"
    table.write_text("\n".join([header, *rows]) + "\n", newline="")
    server = make_servicenow({"cmdb_ci_business_app": table})
    d = tmp_path / "desired"
    d.mkdir()
    (d / "reconciler.yaml").write_text(
        "sources:\n  cmdb:\n    servicenow:\n"
        f"      instance: {server.url}\n"
        "      user: {fromEnv: SERVICENOW_USER}\n      password: {fromEnv: SERVICENOW_PASSWORD}\n"
        "pull:\n  - source: cmdb\n    table: cmdb_ci_business_app\n"
        "    query: operational_status=1\n    fields: [u_app_id, name]\n    file: data/apps.csv\n"
    )
    env = {"SERVICENOW_USER": "admin", "SERVICENOW_PASSWORD": "sandbox-password"}
    for fmt in ("text", "json", "markdown"):
        code, out, err = run("pull", str(d), "--dry-run", "--format", fmt, cwd=tmp_path, env=env)
        assert code == 0, err
        if fmt == "json":
            assert set(json.loads(out)["files"][0]["added"]) == set(hostile)
        assert_safe(out + err)
        assert "\\u001b" in out

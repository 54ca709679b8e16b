"""reconciler pull against the sandbox's ServiceNow Table API, over real HTTP on 127.0.0.1.

Every scenario ends as the GitOps flow does: the pulled file planned, applied, and planned
again to no changes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler import pull
from reconciler.http.transport import TransportSettings
from tests.helpers.cli import against, run
from tests.helpers.sandbox import MakeServiceNow, SandboxOrg, ServiceNowServer

FAST = TransportSettings(connect_timeout=2, read_timeout=5, retries=3, backoff_factor=0.0)
TABLE = "cmdb_ci_business_app"
ENV = {"SERVICENOW_USER": "admin", "SERVICENOW_PASSWORD": "sandbox-password"}

POLICY = """\
kind: TaggingPolicy
name: Application ID
tags:
  - key: app_id
    mandatory: true
    valueType: LIST
    allowedValuesFrom: {file: data/apps.csv, column: u_app_id}
"""


def _config(server: ServiceNowServer, query: str = "operational_status=1", **extra: str) -> str:
    lines = [
        "sources:",
        "  cmdb:",
        "    servicenow:",
        f"      instance: {server.url}",
        "      user: {fromEnv: SERVICENOW_USER}",
        "      password: {fromEnv: SERVICENOW_PASSWORD}",
        "pull:",
        "  - source: cmdb",
        f"    table: {TABLE}",
        f"    query: {json.dumps(query)}",
        "    fields: [u_app_id, name]",
        "    file: data/apps.csv",
    ]
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _directory(tmp_path: Path, server: ServiceNowServer, **kw: str) -> Path:
    directory = tmp_path / "desired"
    directory.mkdir(exist_ok=True)
    (directory / "reconciler.yaml").write_text(_config(server, **kw), encoding="utf-8")
    (directory / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return directory


def _operational() -> list[str]:
    rows = list(
        csv.DictReader((Path(__file__).parent / "cases" / "servicenow" / f"{TABLE}.csv").open())
    )
    return sorted({r["u_app_id"] for r in rows if r["operational_status"] == "1"})


def test_three_pages_with_a_429_between(make_servicenow: MakeServiceNow, tmp_path: Path) -> None:
    server = make_servicenow(faults="script=ok,429,ok,ok")
    directory = _directory(tmp_path, server)
    config: dict[str, Any] = {
        "sources": {
            "cmdb": {
                "servicenow": {
                    "instance": server.url,
                    "user": {"fromEnv": "SERVICENOW_USER"},
                    "password": {"fromEnv": "SERVICENOW_PASSWORD"},
                }
            }
        },
        "pull": [
            {
                "source": "cmdb",
                "table": TABLE,
                "query": "operational_status=1",
                "fields": ["u_app_id", "name"],
                "file": "data/apps.csv",
            }
        ],
    }
    pages: list[int] = []
    with pull.connections(directory, config["sources"], ENV, FAST) as client:
        report = pull.pull(
            directory,
            config,
            client,
            page_size=100,
            progress=lambda p, n, got, total: pages.append(n),
        )
        requests_sent = client("cmdb").request_count
    assert report.errors == [] and report.written
    (result,) = report.files
    assert pages == [1, 2, 3]  # 251 records, 100 a page
    assert requests_sent == 4  # and the 429 was retried once, inside the second page's call
    assert result.fetched == result.rows == len(_operational()) == 251
    text = (directory / "data" / "apps.csv").read_bytes().decode("utf-8")
    assert text.startswith("u_app_id,name\n") and "\r" not in text
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == _operational()


def test_pull_then_plan_apply_and_no_changes(
    servicenow: ServiceNowServer, sandbox_org: SandboxOrg, tmp_path: Path
) -> None:
    directory = _directory(tmp_path, servicenow)
    flags, env = against(sandbox_org, **ENV)
    # the policy names a file that does not exist yet: pull reads only reconciler.yaml
    code, out, err = run("pull", str(directory), "--detailed-exitcode", cwd=tmp_path, env=env)
    assert code == 2, out + err
    assert f"data/apps.csv <- cmdb {TABLE}: 251 rows (new file), +251 -0: written" in out
    assert "sandbox-password" not in out + err
    first = (directory / "data" / "apps.csv").read_bytes()

    code, out, err = run("pull", str(directory), "--detailed-exitcode", cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert "No changes: every file matches its source." in out
    assert (directory / "data" / "apps.csv").read_bytes() == first  # byte-identical

    code, out, err = run("plan", str(directory), *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    assert "[251 values:" in out
    code, out, err = run("apply", str(directory), "--auto-approve", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    code, out, err = run(
        "plan", str(directory), "--detailed-exitcode", *flags, cwd=tmp_path, env=env
    )
    assert code == 0 and "No changes." in out, out + err


def test_a_query_on_an_unknown_field_is_refused(
    servicenow: ServiceNowServer, tmp_path: Path
) -> None:
    directory = _directory(tmp_path, servicenow, query="u_operational_status=1")
    code, out, err = run("pull", ".", cwd=directory, env=ENV)
    assert code == 1, out + err
    assert "has no field 'u_operational_status'" in out
    assert "ServiceNow ignores a condition on a field that does not exist" in out
    assert out.endswith(
        "\nPull refused: 1 problem(s); no file in the current directory was written.\n"
    )
    assert not (directory / "data").exists()


def test_a_pull_into_the_current_directory_says_so_in_words(
    servicenow: ServiceNowServer, tmp_path: Path
) -> None:
    directory = _directory(tmp_path, servicenow)
    code, out, err = run("pull", ".", cwd=directory, env=ENV)
    assert (code, err) == (0, ""), out + err
    assert out.endswith(
        "\nPulled: 1 file(s) written in the current directory. Plan to see what they change.\n"
    )
    code, out, err = run("pull", cwd=directory, env=ENV)  # DIR found, not given: the same
    assert (code, err) == (0, ""), out + err
    assert out.endswith("\nNo changes: every file matches its source.\n")


def test_an_empty_result_is_refused(servicenow: ServiceNowServer, tmp_path: Path) -> None:
    directory = _directory(tmp_path, servicenow, query="operational_status=9")
    code, out, err = run("pull", str(directory), cwd=tmp_path, env=ENV)
    assert code == 1, out + err
    assert "returned no records" in out and not (directory / "data").exists()


def test_a_shrink_is_refused_then_allowed(servicenow: ServiceNowServer, tmp_path: Path) -> None:
    directory = _directory(tmp_path, servicenow, query="install_status=1")
    assert run("pull", str(directory), cwd=tmp_path, env=ENV)[0] == 0
    before = (directory / "data" / "apps.csv").read_bytes()
    narrower = _config(servicenow, query="operational_status=1^install_status=1", maxShrink="2")
    (directory / "reconciler.yaml").write_text(narrower, encoding="utf-8")
    code, out, err = run("pull", str(directory), cwd=tmp_path, env=ENV)
    assert code == 1, out + err
    assert "more than maxShrink 2%" in out and "--allow-shrink" in out
    assert (directory / "data" / "apps.csv").read_bytes() == before  # nothing written
    code, out, err = run(
        "pull", str(directory), "--allow-shrink", "--detailed-exitcode", cwd=tmp_path, env=ENV
    )
    assert code == 2, out + err
    assert "+0 -12" in out


def test_a_wrong_password_is_one_line_and_never_shown(
    servicenow: ServiceNowServer, tmp_path: Path
) -> None:
    directory = _directory(tmp_path, servicenow)
    env = {**ENV, "SERVICENOW_PASSWORD": "Wrong-Pa55word"}
    code, out, err = run("pull", str(directory), cwd=tmp_path, env=env)
    assert code == 1, out + err
    assert "401 Unauthorized" in out and "User Not Authenticated" in out
    assert "wrong-pa55word" not in (out + err).lower()
    assert not (directory / "data").exists()


def test_missing_credentials_say_which_variable(
    servicenow: ServiceNowServer, tmp_path: Path
) -> None:
    directory = _directory(tmp_path, servicenow)
    code, _, err = run("pull", str(directory), cwd=tmp_path, env={"SERVICENOW_USER": "admin"})
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "Error: SERVICENOW_PASSWORD is not set (sources.cmdb.servicenow.password)"
    )


def test_an_unknown_source_is_a_located_config_error(
    servicenow: ServiceNowServer, tmp_path: Path
) -> None:
    directory = _directory(tmp_path, servicenow)
    text = (directory / "reconciler.yaml").read_text().replace("- source: cmdb", "- source: cmbd")
    (directory / "reconciler.yaml").write_text(text)
    code, _, err = run("pull", str(directory), cwd=tmp_path, env=ENV)
    assert code == 1
    assert (
        'reconciler.yaml:8:13: pull[0].source: no source named "cmbd" (did you mean "cmdb"?)' in err
    )


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_machine_and_pull_request_formats(
    servicenow: ServiceNowServer, tmp_path: Path, fmt: str
) -> None:
    directory = _directory(tmp_path, servicenow)
    code, out, err = run(
        "pull", str(directory), "--format", fmt, "--dry-run", cwd=tmp_path, env=ENV
    )
    assert code == 0, out + err
    assert not (directory / "data").exists()  # a dry run writes nothing
    if fmt == "json":
        data = json.loads(out)
        assert data["changed"] and not data["written"] and data["dryRun"]
        assert data["files"][0]["rows"] == 251 and len(data["files"][0]["added"]) == 251
    else:
        assert out.startswith("<!-- reconciler:pull dir=")
        assert "| 251 | +251 -0 | would change (dry run) |" in out


def test_custom_properties_from_a_pull(make_servicenow: MakeServiceNow, tmp_path: Path) -> None:
    table = tmp_path / "u_repository_team.csv"
    table.write_text(
        "repository,team,active\nacme/b,Search,true\nacme/a,Payments,true\nacme/z,Old,false\n",
        encoding="utf-8",
    )
    server = make_servicenow({"u_repository_team": table})
    directory = tmp_path / "desired"
    directory.mkdir()
    config = _config(server).replace(f"table: {TABLE}", "table: u_repository_team")
    config = config.replace('query: "operational_status=1"', "query: active=true")
    config = config.replace("fields: [u_app_id, name]", "fields: [repository, team]")
    config = config.replace("file: data/apps.csv", "file: data/custom_properties.csv")
    (directory / "reconciler.yaml").write_text(config, encoding="utf-8")
    (directory / "cp.yaml").write_text("kind: CustomProperties\nfile: data/custom_properties.csv\n")
    code, out, err = run("pull", str(directory), cwd=tmp_path, env=ENV)
    assert code == 0, out + err
    assert (directory / "data" / "custom_properties.csv").read_text() == (
        "repository,team\nacme/a,Payments\nacme/b,Search\n"
    )
    code, out, err = run("validate", str(directory), cwd=tmp_path, env=ENV)
    assert code == 0 and "1 CustomProperties" in out, out + err


@pytest.mark.parametrize("check", [True, False])
def test_pulled_values_are_checked_with_the_reading_tag_keys_settings(
    make_servicenow: MakeServiceNow, tmp_path: Path, check: bool
) -> None:
    """The hygiene of a pull is the hygiene of the tag key whose policy reads the file: its
    ``hygiene:`` settings in reconciler.yaml apply (here the shape check, on or off)."""
    table = tmp_path / f"{TABLE}.csv"
    ids = [f"APP-{n:05d}" for n in range(1, 61)] + ["APP-O0099"]  # letter O for zero
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sys_id", "u_app_id", "name", "operational_status"])
        writer.writerows([f"{i:032x}", v, f"App {i}", "1"] for i, v in enumerate(ids))
    directory = _directory(tmp_path, make_servicenow({TABLE: table}))
    setting = f"hygiene:\n  app_id:\n    shapes: {{check: {str(check).lower()}}}\n"
    with (directory / "reconciler.yaml").open("a") as fh:
        fh.write(setting)
    (directory / "data").mkdir()  # pulled before: the policy reads it, so its key is known
    rows = "".join(f"{v},App\n" for v in ids[:-1])
    (directory / "data" / "apps.csv").write_text("u_app_id,name\n" + rows)
    code, out, err = run("pull", str(directory), "--dry-run", cwd=tmp_path, env=ENV)
    assert code == 0, out + err
    assert ('hygiene: "APP-O0099" (line 62)' in out) is check, out

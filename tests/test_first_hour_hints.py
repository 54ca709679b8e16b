"""Issue 16, "hints where the user is left guessing": each stumble of a new user's first hour,
seen where the user sees it (the command's output and exit code).

- unmanaged live objects: the plan says how to delete them, and why --prune deletes nothing of
  a kind that no document declares;
- a --target that matches nothing: one verdict ("Plan refused"), never "No changes." after it;
- a semicolon-separated CSV, and a column named in another case;
- colour: NO_COLOR only when not empty; TERM=dumb gets none.
"""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.helpers.cli import against, run
from tests.helpers.examples import write
from tests.helpers.sandbox import SandboxOrg

CONFIG = "org: acme\napi: sandbox\n"
POLICY = (
    "kind: TaggingPolicy\nname: Env\ntags:\n  - key: env\n    valueType: LIST\n"
    "    allowedValues: [prod, dev]\n"
)


# --- unmanaged objects: how to delete them ----------------------------------------------------


def test_unmanaged_objects_come_with_how_to_delete_them(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    sandbox_org.guardrail("Old budget", totalThreshold=5)
    sandbox_org.guardrail("Keep", totalThreshold=9)
    write(tmp_path, {"p.yaml": POLICY})
    flags, env = against(sandbox_org)

    code, out, _ = run("plan", ".", *flags, cwd=tmp_path, env=env)
    assert code == 0
    lines = out.splitlines()
    first = lines.index("Unmanaged (2): live objects not in the files, left alone:")
    assert lines[first + 3] == (
        "To delete one: a document with its kind, its name and absent: true; every one of a "
        "kind the files declare: --prune (or prune: in reconciler.yaml)."
    )

    # --prune: no Guardrail document, so no Guardrail is deleted, and the plan says why
    code, out, _ = run("plan", ".", *flags, "--prune", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert code == 2  # the policy's creation, nothing else
    assert "- delete" not in out
    assert (
        "  ! prune deletes no Guardrail: no document declares a Guardrail, and prune covers only "
        "the kinds the files declare (so a directory that lost its files cannot empty the org); "
        "to delete these 2, write a document each with absent: true, or set prune: [Guardrail] "
        "in reconciler.yaml"
    ) in out.splitlines()

    # the first way works: absent: true deletes the one named, and nothing else
    write(tmp_path, {"old.yaml": "kind: Guardrail\nname: Old budget\nabsent: true\n"})
    code, out, _ = run("apply", ".", *flags, "--auto-approve", cwd=tmp_path, env=env)
    assert code == 0, out
    assert '- deleted Guardrail "Old budget"' in out
    names = [
        g["attributes"]["name"] for g in sandbox_org.request("GET", "guardrails").json()["data"]
    ]
    assert names == ["Keep"]
    code, out, _ = run("plan", ".", *flags, "--detailed-exitcode", cwd=tmp_path, env=env)
    assert code == 0, out
    assert out.splitlines()[-1] == "No changes."
    assert '? Guardrail "Keep"' in out


def test_prune_says_nothing_when_the_kind_is_declared(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    sandbox_org.policy("Made in the UI", tags=[])
    sandbox_org.policy("Also", tags=[])
    write(tmp_path, {"p.yaml": POLICY})
    flags, env = against(sandbox_org)
    code, out, _ = run("plan", ".", *flags, "--prune", "--allow-mass-delete", cwd=tmp_path, env=env)
    assert code == 0, out
    assert out.count("- delete TaggingPolicy") == 2
    assert "prune deletes no" not in out
    assert "Unmanaged" not in out


# --- one verdict ------------------------------------------------------------------------------


def test_a_target_that_matches_nothing_is_refused_and_nothing_else(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    write(tmp_path, {"p.yaml": POLICY})
    flags, env = against(sandbox_org)
    commands = (
        ["plan", "."],
        ["plan", ".", "--detailed-exitcode"],
        ["apply", ".", "--auto-approve"],
    )
    for command in commands:
        code, out, _ = run(*command, *flags, "--target", "Guardrail/Nope", cwd=tmp_path, env=env)
        assert code == 1
        assert "No changes." not in out
        lines = out.splitlines()
        assert lines[-3:] == [
            "  x Correct or remove --target Guardrail/Nope: it matches no document and no live "
            "object (names are exact and case-sensitive)",
            "",
            "Plan refused (1 problem): would add 0, change 0, destroy 0.",
        ]
        assert [line for line in lines if line.startswith("Plan")] == [lines[-1]]
    assert sandbox_org.writes() == 0


@pytest.mark.parametrize(
    ("target", "meant"),
    [
        ("Guardrail/prod budget", "Guardrail/Prod budget"),  # a live object, in another case
        ("Guardrail/Dev budgte", "Guardrail/Dev budget"),  # a document, misspelt
        ("Guardrail/PROD BUGDET", "Guardrail/Prod budget"),  # both at once
    ],
)
def test_a_target_that_matches_nothing_suggests_a_close_name(
    tmp_path: Path, sandbox_org: SandboxOrg, target: str, meant: str
) -> None:
    sandbox_org.guardrail("Prod budget", totalThreshold=5)
    write(
        tmp_path,
        {"g.yaml": "kind: Guardrail\nname: Dev budget\nscope: PULL_REQUEST\ntotalThreshold: 9\n"},
    )
    flags, env = against(sandbox_org)
    code, out, err = run("plan", ".", *flags, "--target", target, cwd=tmp_path, env=env)
    assert code == 1, err
    assert out.splitlines()[-3] == (
        f"  x Correct or remove --target {target}: it matches no document and no live object "
        f'(names are exact and case-sensitive); did you mean "{meant}"?'
    )
    code, out, _ = run("plan", ".", *flags, "--target", meant, cwd=tmp_path, env=env)
    assert code == 0, out  # the suggestion is one that works


def test_a_target_whose_kind_is_in_another_case_suggests_the_kind(tmp_path: Path) -> None:
    write(tmp_path, {"g.yaml": "kind: Guardrail\nname: Dev budget\nscope: PROJECT\n"})
    code, out, err = run("plan", ".", "--target", "guardrail/Dev budget", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.rstrip().endswith('; did you mean "Guardrail/Dev budget"?'), err


# --- CSV files that are not what reconciler reads -----------------------------------------------

APPS = (
    "kind: TaggingPolicy\nname: App\ntags:\n  - key: app_id\n    valueType: LIST\n"
    "    allowedValuesFrom:\n      file: apps.csv\n      column: {column}\n"
)


def test_a_semicolon_separated_csv_is_named_as_such(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconciler.yaml": CONFIG,
            "p.yaml": APPS.format(column="u_app_id"),
            "apps.csv": "u_app_id;name;status\nAPP-1;One;active\nAPP-2;Two;retired\n",
        },
    )
    code, out, err = run("validate", ".", cwd=tmp_path)
    assert code == 1, err
    assert out.splitlines() == [
        'apps.csv:1:1: TaggingPolicy "App": tags[app_id].allowedValuesFrom: the header row '
        '"u_app_id;name;status" looks semicolon-separated: reconciler reads comma-separated CSV '
        "(RFC 4180); save the file with commas between the fields",
        "Invalid: 1 error.",
    ]
    assert "not in the header" not in out + err


@pytest.mark.parametrize(("sep", "name"), [("\t", "tab"), (";", "semicolon")])
def test_a_custom_properties_csv_with_another_separator_too(
    tmp_path: Path, sep: str, name: str
) -> None:
    write(
        tmp_path,
        {
            "reconciler.yaml": CONFIG,
            "cp.yaml": "kind: CustomProperties\nfile: cp.csv\n",
            "cp.csv": f"repo{sep}team\nacme/a{sep}Platform\n",
        },
    )
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert "cp.csv:1:1: CustomProperties: file: the header row" in out
    assert f"looks {name}-separated" in out


def test_a_column_in_another_case_gets_did_you_mean(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconciler.yaml": CONFIG,
            "p.yaml": APPS.format(column="U_App_ID"),
            "apps.csv": "u_app_id,name,u_app_idx\nAPP-1,One,x\n",
        },
    )
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert out.splitlines()[0] == (
        'p.yaml:8:15: TaggingPolicy "App": tags[app_id].allowedValuesFrom.column: column '
        '"U_App_ID" is not in the header of apps.csv; did you mean "u_app_id"?'
    )


# --- colour -----------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "coloured"),
    [
        ({}, True),
        ({"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value turns colour off
        ({"NO_COLOR": "1"}, False),
        ({"TERM": "dumb"}, False),
        ({"TERM": "xterm-256color"}, True),
    ],
)
def test_colour_on_a_terminal(tmp_path: Path, env: dict[str, str], coloured: bool) -> None:
    write(tmp_path, {"reconciler.yaml": CONFIG, "p.yaml": POLICY})
    out, err = _Terminal(), io.StringIO()
    code = main(["plan", "."], stdout=out, stderr=err, env=env, cwd=tmp_path)
    assert code == 0, err.getvalue()
    assert ("\x1b[32m+ create\x1b[0m" in out.getvalue()) == coloured
    assert ("\x1b[" in out.getvalue()) == coloured


# --- a dead API: a line per retry, and refused connections given up sooner ---------------------


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])  # closed again: nothing listens there


def test_a_dead_api_says_each_retry_and_gives_up_soon(tmp_path: Path) -> None:
    write(tmp_path, {"p.yaml": POLICY})
    token = "ics_v1_" + "d" * 40
    port = _closed_port()
    api = f"http://127.0.0.1:{port}/{token}/v1"  # a secret where a line shows it
    env = {"INFRACOST_SERVICE_TOKEN": token}
    code, out, err = run("plan", ".", "--api", api, "--org", "acme", cwd=tmp_path, env=env)
    assert (code, out) == (1, "")
    path = "/***/v1/orgs/acme/tagging-policies"
    refused = f"cannot connect to 127.0.0.1:{port}: connection refused"
    lines = err.splitlines()
    assert [re.sub(r"in \d+\.\d s$", "in N s", line) for line in lines] == [
        f"GET {path}: {refused}; retry 1 of 2 now",
        f"GET {path}: {refused}; retry 2 of 2 in N s",
        f"Error: GET {path}: {refused} (API URL from --api)",  # where to look for the typo
    ]
    assert token not in err

    # set in reconciler.yaml, the error says so
    write(tmp_path, {"reconciler.yaml": f"org: acme\napi: http://localhost:{port}/v1\n"})
    code, out, err = run("plan", ".", cwd=tmp_path, env=env)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"Error: GET /v1/orgs/acme/tagging-policies: cannot connect to localhost:{port}: "
        "connection refused (API URL from reconciler.yaml)"
    )


def test_a_failing_answer_says_its_retry_and_the_plan_goes_on(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    write(tmp_path, {"p.yaml": POLICY})
    flags, env = against(sandbox_org)
    sandbox_org.set_faults("script=503,ok")
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=tmp_path, env=env)
    assert code == 2, err
    [line] = err.splitlines()
    assert re.fullmatch(
        rf"GET /v1/orgs/{sandbox_org.org}/tagging-policies: 503 Service Unavailable; "
        r"retry 1 of 5 (now|in \d\.\d s)",
        line,
    ), line
    assert out.splitlines()[-1] == "Plan: 1 to add, 0 to change, 0 to destroy."

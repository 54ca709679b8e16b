"""A token for a served sandbox taken in the wrong place: `sandbox token` says which database it
made, and a 401 from a sandbox says how to take one for the running server (never the real
API's Org Settings). End to end through the CLI."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import run
from tests.helpers.local_http import reply, serve
from tests.helpers.sandbox import SandboxServer

GUARDRAIL = "kind: Guardrail\nname: Project budget\nscope: PROJECT\ntotalThreshold: 100\n"


def gov(directory: Path, api: str, org: str) -> Path:
    directory.mkdir()
    (directory / "reconciler.yaml").write_text(f"org: {org}\napi: {api}\n")
    (directory / "budget.yaml").write_text(GUARDRAIL)
    return directory


def test_a_token_of_another_database_gets_the_sandbox_hint(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    org = "tokens-1"
    directory = gov(tmp_path / "gov", sandbox.base_url, org)
    code, out, err = run("plan", cwd=directory)
    assert (code, out) == (1, "")
    assert err == (
        "Error: INFRACOST_SERVICE_TOKEN is not set: for a local sandbox server: export "
        f"INFRACOST_SERVICE_TOKEN=$(reconciler sandbox token --org {org}) in the directory where "
        "the server runs (or with its --db)\n"
    )
    code, token, err = run("sandbox", "token", "--org", org, cwd=tmp_path)  # not where it runs
    assert code == 0
    assert err == (
        "Created the sandbox database .reconciler/sandbox.db: only a sandbox serve using it "
        "accepts this token (run token where the server runs, or pass its --db)\n"
    )
    env = {"INFRACOST_SERVICE_TOKEN": token.strip()}
    code, out, err = run("plan", cwd=directory, env=env)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: GET /v1/orgs/{org}/tagging-policies: 401 Unauthorized: invalid or revoked token "
        "(this sandbox does not know the token: set INFRACOST_SERVICE_TOKEN to one made by "
        f"reconciler sandbox token --org {org} in the directory where sandbox serve runs, or "
        "with its --db)\n"
    )
    # as the hint says: the server's database; a second token there says nothing more
    db = str(sandbox.store.path)
    code, token, err = run("sandbox", "token", "--org", org, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    env = {"INFRACOST_SERVICE_TOKEN": token.strip()}
    assert run("apply", "--auto-approve", cwd=directory, env=env)[0] == 0
    code, out, err = run("plan", "--detailed-exitcode", cwd=directory, env=env)
    assert code == 0 and out.endswith("No changes.\n"), out + err


def test_a_401_of_another_server_keeps_the_service_account_hint(tmp_path: Path) -> None:
    body = {"errors": [{"status": "401", "title": "Unauthorized", "detail": "invalid token"}]}
    challenge = {"WWW_Authenticate": 'Bearer realm="api"'}
    with serve(lambda seen: reply(401, body, **challenge)) as url:
        directory = gov(tmp_path / "gov", f"{url}/v1", "acme")
        env = {"INFRACOST_SERVICE_TOKEN": "ics_v1_" + "0" * 40}
        code, out, err = run("plan", cwd=directory, env=env)
    assert (code, out) == (1, "")
    assert err.endswith(
        "(the token is wrong or not a service-account token: set INFRACOST_SERVICE_TOKEN to a "
        "token from Org Settings > API tokens; the CLI's token does not work)\n"
    ), err

"""Tokens and tenant isolation: the org always comes from the token."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import pytest
import requests

from reconciler.sandbox.store import Store

if TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers.sandbox import SandboxOrg, SandboxServer

POLICIES = "tagging-policies"


def without_auth(org: SandboxOrg, method: str, url: str, **headers: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # 127.0.0.1 only, whatever the environment says
        return session.request(method, url, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token ics_v1_0000",
        "Bearer not-an-ics-token",
        "Bearer ics_v1_" + "0" * 48,
        "Bearer ics_v1_short",
    ],
)
def test_bad_or_missing_token_is_401(sandbox_org: SandboxOrg, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = without_auth(sandbox_org, "GET", sandbox_org.path(POLICIES), **headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["errors"][0]
    assert error["status"] == "401" and error["title"] == "Unauthorized"


def test_a_tampered_token_is_401(sandbox_org: SandboxOrg) -> None:
    last = sandbox_org.token[-1]
    tampered = sandbox_org.token[:-1] + ("0" if last != "0" else "1")
    response = without_auth(
        sandbox_org, "GET", sandbox_org.path(POLICIES), Authorization=f"Bearer {tampered}"
    )
    assert response.status_code == 401


def test_scheme_is_case_insensitive(sandbox_org: SandboxOrg) -> None:
    response = without_auth(
        sandbox_org, "GET", sandbox_org.path(POLICIES), Authorization=f"bearer {sandbox_org.token}"
    )
    assert response.status_code == 200


def test_401_comes_before_anything_else(sandbox_org: SandboxOrg) -> None:
    response = without_auth(
        sandbox_org, "POST", sandbox_org.path(POLICIES), **{"Content-Type": "text/xml"}
    )
    assert response.status_code == 401


def test_tokens_are_stored_hashed(sandbox: SandboxServer, sandbox_org: SandboxOrg) -> None:
    with sqlite3.connect(sandbox.store.path) as conn:
        rows = conn.execute(
            "SELECT key_id, hash, org FROM tokens WHERE org = ?", (sandbox_org.org,)
        ).fetchall()
    assert len(rows) == 1
    key_id, digest, _ = rows[0]
    assert sandbox_org.token.startswith("ics_v1_") and len(sandbox_org.token) == 55
    assert sandbox_org.token not in digest and len(digest) == 64
    dump = "\n".join(sqlite3.connect(sandbox.store.path).iterdump())
    assert sandbox_org.token not in dump
    assert sandbox_org.token[7:23] == key_id  # the public lookup part only


def test_a_revoked_token_is_401(sandbox: SandboxServer) -> None:
    org = sandbox.new_org()
    assert org.request("GET", POLICIES).status_code == 200
    sandbox.store.revoke_token(org.token)
    assert org.request("GET", POLICIES).status_code == 401


def test_two_tokens_of_one_org_see_the_same_data(
    sandbox: SandboxServer, sandbox_org: SandboxOrg
) -> None:
    policy = sandbox_org.policy()
    second = sandbox.store.create_token(sandbox_org.org)
    response = without_auth(
        sandbox_org,
        "GET",
        sandbox_org.path(POLICIES, policy["id"]),
        Authorization=f"Bearer {second}",
    )
    assert response.json()["data"] == policy


def _as(
    org: SandboxOrg, victim: SandboxOrg, method: str, *parts: str, **kwargs: Any
) -> requests.Response:
    """A request with ``org``'s token against ``victim``'s paths."""
    url = "/".join([f"{victim.base_url}/orgs/{victim.org}", *parts])
    return org.session.request(method, url, timeout=10, **kwargs)


def test_another_orgs_token_cannot_read_change_or_detect(
    sandbox_org: SandboxOrg, other_org: SandboxOrg
) -> None:
    policy = other_org.policy("secret")
    guardrail = other_org.guardrail("secret")
    patch = {"data": {"attributes": {"name": "pwned"}}}
    tries: list[tuple[str, tuple[str, ...], dict[str, Any]]] = [
        ("GET", (POLICIES,), {}),
        ("GET", (POLICIES, policy["id"]), {}),
        ("GET", ("guardrails", guardrail["id"]), {}),
        ("PATCH", (POLICIES, policy["id"]), {"json": patch}),
        ("DELETE", (POLICIES, policy["id"]), {}),
        ("DELETE", ("guardrails", guardrail["id"]), {}),
        ("POST", (POLICIES,), {"json": {"data": {"attributes": {"name": "x", "tags": []}}}}),
        (
            "POST",
            ("custom-properties",),
            {"data": b"a,b\n1,2\n", "headers": {"Content-Type": "text/csv"}},
        ),
        ("POST", (POLICIES,), {"data": b"x", "headers": {"Content-Type": "text/plain"}}),
    ]
    for method, parts, kwargs in tries:
        response = _as(sandbox_org, other_org, method, *parts, **kwargs)
        assert response.status_code == 404, (method, parts)
        assert other_org.org in response.text and "secret" not in response.text
    # the other org is untouched
    assert other_org.request("GET", POLICIES).json()["data"] == [policy]
    assert other_org.writes() == 2 and other_org.custom_properties() == ([], [])
    # and its own objects stay invisible by id through its own paths
    assert sandbox_org.request("GET", POLICIES, policy["id"]).status_code == 404
    assert sandbox_org.request("PATCH", POLICIES, policy["id"], json=patch).status_code == 404
    assert sandbox_org.request("DELETE", POLICIES, policy["id"]).status_code == 404
    assert sandbox_org.request("GET", POLICIES).json()["data"] == []


def test_another_org_looks_exactly_like_no_org(
    sandbox_org: SandboxOrg, other_org: SandboxOrg
) -> None:
    """Same status, headers and body (with the slug swapped) for an existing and a missing org."""
    ghost_name = other_org.org.replace("other", "ghost")
    existing = sandbox_org.session.get(
        f"{other_org.base_url}/orgs/{other_org.org}/{POLICIES}", timeout=5
    )
    missing = sandbox_org.session.get(
        f"{other_org.base_url}/orgs/{ghost_name}/{POLICIES}", timeout=5
    )
    assert existing.status_code == missing.status_code == 404
    assert existing.text.replace(other_org.org, "X") == missing.text.replace(ghost_name, "X")
    ignored = {"Date"}
    assert {k: v for k, v in existing.headers.items() if k not in ignored} == {
        k: v for k, v in missing.headers.items() if k not in ignored
    }


def test_test_only_routes_are_isolated_too(
    sandbox_org: SandboxOrg, other_org: SandboxOrg, http: requests.Session
) -> None:
    for name in ("custom-properties", "stats", "behaviour"):
        url = f"{other_org.url}/_sandbox/orgs/{other_org.org}/{name}"
        assert sandbox_org.session.get(url, timeout=5).status_code == 404
        assert http.get(url, timeout=5).status_code == 401
    url = f"{other_org.url}/_sandbox/orgs/{other_org.org}/behaviour"
    assert (
        sandbox_org.session.put(url, json={"faults": "error_rate=1"}, timeout=5).status_code == 404
    )
    assert other_org.request("GET", POLICIES).status_code == 200


def test_org_slugs_are_checked(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        for bad in ["", "-x", "a/b", "a b", "x" * 101, "ü"]:
            with pytest.raises(Exception, match="invalid org slug"):
                store.create_token(bad)
        assert store.create_token("Acme_Corp.eu-1").startswith("ics_v1_")
    finally:
        store.close()

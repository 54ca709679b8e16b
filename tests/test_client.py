"""The HTTP client against the real sandbox over HTTP: every quirk, every fault, and the promises.

What the sandbox cannot do (redirects, malformed 2xx bodies, odd ``links.next``, a server that
never answers, a proxy) is played by tiny servers on 127.0.0.1 defined here. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from reconciler.errors import ConfigError
from reconciler.http.infracost import (
    ApiClient,
    ApiError,
    ClientSettings,
    Created,
    NoAnswer,
    OutcomeUnknown,
)
from reconciler.kinds import OBJECT_KINDS
from reconciler.model import LiveObject
from reconciler.sandbox.faults import QUIRKS
from reconciler.settings import Secret
from tests.helpers.local_http import Reply, Seen, reply, self_signed, serve

if TYPE_CHECKING:
    from tests.helpers.sandbox import SandboxOrg

FAST = ClientSettings(
    connect_timeout=2.0,
    read_timeout=5.0,
    retries=3,
    backoff_factor=0.01,
    backoff_max=0.05,
    backoff_jitter=0.01,
    retry_after_max=0.05,
    max_pages=20,
)
NO_RETRY = replace(FAST, retries=0)
TAGGING_POLICY = OBJECT_KINDS["TaggingPolicy"]
GUARDRAIL = OBJECT_KINDS["Guardrail"]
ENV_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _no_proxy_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client keeps trust_env; tests set proxies and CA bundles themselves when they want."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def make_client(
    org: SandboxOrg, settings: ClientSettings = FAST, token: str | None = ""
) -> ApiClient:
    """A client of ``org``; ``token=""`` means the org's own token."""
    value = org.token if token == "" else token
    return ApiClient(org.base_url, org.org, Secret(value) if value else None, settings)


@pytest.fixture
def client(sandbox_org: SandboxOrg) -> Iterator[ApiClient]:
    with make_client(sandbox_org) as api:
        yield api


def assert_secret_kept(exc: BaseException, token: str) -> None:
    """The token is in no text of the error: str, repr, args, or the whole traceback chain."""
    texts = [str(exc), repr(exc), *map(str, exc.args), "".join(traceback.format_exception(exc))]
    assert all(token not in text for text in texts)


def guardrail(name: str = "g", **attributes: Any) -> dict[str, Any]:
    return {"name": name, "scope": "PULL_REQUEST", **attributes}


def named(name: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda live: live.get("name") == name


# --- the basics --------------------------------------------------------------------------


def test_create_get_update_delete(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    created = client.create(GUARDRAIL, guardrail(increaseThreshold=100))
    assert isinstance(created, Created) and not created.adopted
    assert created.attributes["increaseThreshold"] == 100
    assert created.attributes["webhookUrl"] == ""  # defaults as the API fills them

    got = client.get(GUARDRAIL, created.id)
    assert got == LiveObject(created.id, created.attributes)

    updated = client.update(GUARDRAIL, created.id, {"message": "m", "totalThreshold": 5})
    assert updated.attributes == {**created.attributes, "message": "m", "totalThreshold": 5}

    assert client.delete(GUARDRAIL, created.id) is True
    assert client.delete(GUARDRAIL, created.id) is False  # already gone: done
    assert client.get(GUARDRAIL, created.id) is None
    assert client.request_count == 6
    assert sandbox_org.writes() == 3


def test_update_sends_only_what_it_is_given(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy("p", message="before", tags=[{"key": "env", "mandatory": True}])
    updated = client.update(TAGGING_POLICY, policy["id"], {"message": "after"})
    assert updated.attributes == {**policy["attributes"], "message": "after"}
    reset = client.update(TAGGING_POLICY, policy["id"], {"message": None})
    assert reset.attributes["message"] == ""


def test_list_is_one_request_per_kind(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    policies = [sandbox_org.policy(f"p{i}") for i in range(5)]
    guardrails = [sandbox_org.guardrail(f"g{i}") for i in range(3)]
    assert client.list(TAGGING_POLICY) == [LiveObject(p["id"], p["attributes"]) for p in policies]
    assert [g.id for g in client.list(GUARDRAIL)] == [g["id"] for g in guardrails]
    assert client.request_count == 2


def test_upload_custom_properties(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    client.upload_custom_properties(b"repo,team\r\nacme/infra,platform\r\nacme/web,web\r\n")
    assert sandbox_org.custom_properties() == (
        ["repo", "team"],
        [["acme/infra", "platform"], ["acme/web", "web"]],
    )
    with pytest.raises(ApiError) as caught:
        client.upload_custom_properties(b"")
    assert caught.value.status == 400 and not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.path == f"/v1/orgs/{sandbox_org.org}/custom-properties"


# --- quirks: one check per sandbox quirk ---------------------------------------------------


def _create_200(api: ApiClient, org: SandboxOrg) -> None:
    created = api.create(GUARDRAIL, guardrail())
    assert not created.adopted and created.attributes["name"] == "g"
    assert api.request_count == 1 and org.writes() == 1


def _other_type(api: ApiClient, org: SandboxOrg) -> None:
    policy = api.create(TAGGING_POLICY, {"name": "p", "tags": []})
    assert api.list(TAGGING_POLICY) == [LiveObject(policy.id, policy.attributes)]
    assert api.get(TAGGING_POLICY, policy.id) is not None
    assert api.update(TAGGING_POLICY, policy.id, {"blockPr": True}).attributes["blockPr"] is True


def _missing_attribute(api: ApiClient, org: SandboxOrg) -> None:
    created = api.create(GUARDRAIL, guardrail(message="m"))
    assert "message" not in created.attributes  # returned as given: no default filled in
    assert "message" not in api.list(GUARDRAIL)[0].attributes
    got = api.get(GUARDRAIL, created.id)
    assert got is not None and "message" not in got.attributes


def _server_fields(api: ApiClient, org: SandboxOrg) -> None:
    created = api.create(GUARDRAIL, guardrail())
    assert {"createdAt", "updatedAt", "createdBy"} <= set(created.attributes)
    assert api.list(GUARDRAIL)[0].attributes["createdBy"]


def _error_object(api: ApiClient, org: SandboxOrg) -> None:
    assert api.get(GUARDRAIL, "nope") is None
    assert api.delete(GUARDRAIL, "nope") is False
    with pytest.raises(ApiError) as caught:
        api.create(GUARDRAIL, {"name": "g", "scope": "NOPE"})
    assert str(caught.value) == (
        f"POST /v1/orgs/{org.org}/guardrails: 400 Bad Request: /data/attributes/scope: "
        "must be one of PULL_REQUEST, PROJECT, REPO (invalid_request)"
    )
    with pytest.raises(ApiError) as caught:
        api.update(GUARDRAIL, "nope", {"message": "m"})
    assert caught.value.status == 404
    assert "no guardrails object with id 'nope' (not_found)" in str(caught.value)
    assert "no longer exists" in str(caught.value)


def _error_text(api: ApiClient, org: SandboxOrg) -> None:
    with pytest.raises(ApiError) as caught:
        api.create(GUARDRAIL, {"name": "g"})
    assert str(caught.value) == (
        f"POST /v1/orgs/{org.org}/guardrails: 400 Bad Request: "
        "/data/attributes/scope: scope is required"
    )
    assert api.get(GUARDRAIL, "nope") is None


def _reorder(api: ApiClient, org: SandboxOrg) -> None:
    org.reset()
    org.policy("a", tags=[{"key": "x", "valueType": "LIST", "allowedValues": ["1", "2"]}])
    org.policy("b")
    org.set_quirks("reorder")
    raw = org.request("GET", "tagging-policies").json()["data"]
    listed = api.list(TAGGING_POLICY)
    assert listed == [LiveObject(p["id"], p["attributes"]) for p in raw]  # exactly as given
    assert [p.attributes["name"] for p in listed] == ["b", "a"]
    assert listed[1].attributes["tags"][0]["allowedValues"] == ["2", "1"]


def _paginate(api: ApiClient, org: SandboxOrg) -> None:
    org.reset()
    ids = [org.policy(f"p{i}")["id"] for i in range(5)]
    org.set_quirks("paginate")
    assert [p.id for p in api.list(TAGGING_POLICY)] == ids
    assert api.request_count == 3  # pages of 2
    assert api.list(GUARDRAIL) == []


QUIRK_CHECKS: dict[str, Callable[[ApiClient, SandboxOrg], None]] = {
    "create_200": _create_200,
    "other_type": _other_type,
    "missing_attribute": _missing_attribute,
    "server_fields": _server_fields,
    "error_object": _error_object,
    "error_text": _error_text,
    "reorder": _reorder,
    "paginate": _paginate,
}


def test_every_quirk_has_a_check() -> None:
    assert set(QUIRK_CHECKS) == set(QUIRKS)


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_quirk(quirk: str, client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_quirks(quirk)
    QUIRK_CHECKS[quirk](client, sandbox_org)


def test_all_quirks_at_once(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    for i in range(3):
        sandbox_org.guardrail(f"g{i}")
    sandbox_org.set_quirks(*QUIRKS)
    listed = client.list(GUARDRAIL)
    assert [g.attributes["name"] for g in listed] == ["g2", "g1", "g0"]
    created = client.create(GUARDRAIL, guardrail("new"))
    assert client.get(GUARDRAIL, created.id) is not None


# --- errors ------------------------------------------------------------------------------


def test_errors_name_method_path_status_and_the_api_message(
    client: ApiClient, sandbox_org: SandboxOrg
) -> None:
    g = sandbox_org.guardrail()
    with pytest.raises(ApiError) as caught:
        client.update(GUARDRAIL, g["id"], {"scope": "SIDEWAYS", "prComment": "yes"})
    error = caught.value
    assert str(error) == (
        f"PATCH /v1/orgs/{sandbox_org.org}/guardrails/{g['id']}: 400 Bad Request: "
        "/data/attributes/scope: must be one of PULL_REQUEST, PROJECT, REPO; "
        "/data/attributes/prComment: must be true or false"
    )
    assert (error.method, error.status) == ("PATCH", 400)
    assert error.path == f"/v1/orgs/{sandbox_org.org}/guardrails/{g['id']}"
    assert_secret_kept(error, sandbox_org.token)


def test_401_says_what_to_fix(sandbox_org: SandboxOrg) -> None:
    wrong = "ics_v1_" + "0" * 40
    for token, says in [
        (wrong, "invalid or revoked token"),
        ("cli_token_not_a_service_token", "not a service-account token"),
        (None, "missing Authorization header"),
    ]:
        with make_client(sandbox_org, token=token) as api, pytest.raises(ApiError) as caught:
            api.list(GUARDRAIL)
        error = caught.value
        assert error.status == 401 and says in str(error)
        assert "INFRACOST_SERVICE_TOKEN" in str(error)
        for secret in (wrong, "cli_token_not_a_service_token", sandbox_org.token):
            assert_secret_kept(error, secret)


def test_404_on_the_org_says_so(sandbox_org: SandboxOrg, other_org: SandboxOrg) -> None:
    with make_client(sandbox_org, token=other_org.token) as api:
        with pytest.raises(ApiError) as caught:
            api.list(TAGGING_POLICY)
        assert caught.value.status == 404
        assert f"check the org slug {sandbox_org.org!r}" in str(caught.value)
        assert_secret_kept(caught.value, other_org.token)
        with pytest.raises(ApiError, match="check the org slug"):
            api.create(GUARDRAIL, guardrail(), known_ids=set())
    assert sandbox_org.writes() == 0 and other_org.writes() == 0


def test_a_4xx_on_post_is_a_plain_failure(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    with pytest.raises(ApiError) as caught:
        client.create(GUARDRAIL, {"name": "g"}, known_ids=set(), same=named("g"))
    assert type(caught.value) is ApiError and caught.value.status == 400
    assert client.request_count == 1  # no re-listing


def test_the_token_is_never_shown(sandbox_org: SandboxOrg) -> None:
    api = make_client(sandbox_org)
    texts = [
        repr(api),
        str(api),
        repr(vars(api)),
        repr(api.transport.session.auth),
        repr(api.settings),
    ]
    assert all(sandbox_org.token not in text for text in texts)
    api.close()


# --- faults: retries ---------------------------------------------------------------------


def test_get_patch_delete_are_retried_on_5xx(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    g = sandbox_org.guardrail()
    sandbox_org.set_faults("script=503,502,ok")
    assert [o.id for o in client.list(GUARDRAIL)] == [g["id"]]
    assert client.request_count == 3
    sandbox_org.set_faults("script=500,504,ok")
    assert client.update(GUARDRAIL, g["id"], {"message": "m"}).attributes["message"] == "m"
    assert client.request_count == 6
    sandbox_org.set_faults("script=503,ok")
    assert client.delete(GUARDRAIL, g["id"]) is True
    assert client.request_count == 8
    assert sandbox_org.writes() == 3


def test_retries_run_out_with_the_last_answer(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("error_rate=1,seed=1")
    with pytest.raises(ApiError) as caught:
        client.list(GUARDRAIL)
    assert caught.value.status in (500, 502, 503)
    assert "injected fault: the request was not processed" in str(caught.value)
    assert client.request_count == 1 + FAST.retries


def test_429_waits_for_retry_after_up_to_the_cap(sandbox_org: SandboxOrg) -> None:
    settings = replace(FAST, retry_after_max=0.3, backoff_factor=0.0, backoff_jitter=0.0)
    with make_client(sandbox_org, settings) as api:
        sandbox_org.set_faults("script=429,ok")  # the sandbox asks for Retry-After: 1
        start = time.monotonic()
        assert api.list(GUARDRAIL) == []
        # it waited (the cap itself is checked with an injected sleep in test_transport.py)
        assert time.monotonic() - start >= 0.3 and api.request_count == 2
        sandbox_org.set_faults("script=429,ok")  # a throttled POST was refused, not processed
        created = api.create(GUARDRAIL, guardrail())
        assert not created.adopted and api.request_count == 4
    assert sandbox_org.writes() == 1


def test_a_post_is_not_retried_on_5xx(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("script=503")
    with pytest.raises(OutcomeUnknown) as caught:
        client.create(GUARDRAIL, guardrail(), known_ids=set(), same=named("g"))
    message = str(caught.value)
    assert message.startswith(f"POST /v1/orgs/{sandbox_org.org}/guardrails: 503 Service")
    assert "outcome unknown: no new object matches what was sent" in message
    assert caught.value.status == 503 and caught.value.candidates == ()
    assert client.request_count == 2  # the POST, then one list to check
    assert sandbox_org.writes() == 0
    assert_secret_kept(caught.value, sandbox_org.token)


def test_an_unresolvable_post_without_known_ids(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("script=502")
    with pytest.raises(OutcomeUnknown, match="may or may not have been created"):
        client.create(GUARDRAIL, guardrail())
    assert client.request_count == 1


def test_an_upload_is_not_retried_on_5xx(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("script=503")
    with pytest.raises(OutcomeUnknown, match="uploading the same file again is safe"):
        client.upload_custom_properties(b"repo\nr\n")
    assert client.request_count == 1 and sandbox_org.writes() == 0


# --- faults: answers lost after the write committed --------------------------------------


def test_a_lost_create_is_adopted(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("script=drop")
    created = client.create(GUARDRAIL, guardrail(increaseThreshold=5), known_ids=set())
    assert created.adopted and created.attributes["increaseThreshold"] == 5
    assert [g.id for g in client.list(GUARDRAIL)] == [created.id]
    assert sandbox_org.writes() == 1
    assert client.request_count == 3  # POST, the list that adopted it, the list above


def test_a_same_named_existing_object_is_never_adopted(
    client: ApiClient, sandbox_org: SandboxOrg
) -> None:
    old = sandbox_org.guardrail("g")
    known = {old["id"].upper()}  # ids compare case-insensitively
    sandbox_org.set_faults("script=503")  # not created: the old one must not be taken for it
    with pytest.raises(OutcomeUnknown, match="probably not created"):
        client.create(GUARDRAIL, guardrail("g"), known_ids=known, same=named("g"))
    sandbox_org.set_faults("script=drop")  # created: the new one, never the old one
    created = client.create(GUARDRAIL, guardrail("g"), known_ids=known, same=named("g"))
    assert created.adopted and created.id != old["id"]
    assert sorted(g.id for g in client.list(GUARDRAIL)) == sorted([old["id"], created.id])


def test_several_new_matches_are_an_unknown_outcome(
    client: ApiClient, sandbox_org: SandboxOrg
) -> None:
    rival = sandbox_org.guardrail("g")  # made by someone else after our list
    sandbox_org.set_faults("script=drop")
    with pytest.raises(OutcomeUnknown) as caught:
        client.create(GUARDRAIL, guardrail("g"), known_ids=set(), same=named("g"))
    assert "2 new objects match what was sent" in str(caught.value)
    assert rival["id"] in caught.value.candidates and len(caught.value.candidates) == 2
    assert sandbox_org.writes() == 2


def test_a_lost_delete_and_patch_are_retried(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    g = sandbox_org.guardrail()
    sandbox_org.set_faults("script=drop")
    assert client.update(GUARDRAIL, g["id"], {"message": "m"}).attributes["message"] == "m"
    sandbox_org.set_faults("script=drop")
    assert client.delete(GUARDRAIL, g["id"]) is False  # the retry found it gone: done
    assert client.list(GUARDRAIL) == []
    assert sandbox_org.writes() == 4 and client.request_count == 5  # the PATCH twice


def test_a_lost_upload_is_an_unknown_outcome(client: ApiClient, sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("script=drop")
    with pytest.raises(OutcomeUnknown, match="closed before an answer came") as caught:
        client.upload_custom_properties(b"repo\nr\n")
    assert caught.value.status is None
    assert sandbox_org.custom_properties() == (["repo"], [["r"]])
    assert client.request_count == 1


def test_random_faults_end_in_one_object(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("error_rate=0.2,throttle_rate=0.2,drop_rate=0.5,seed=5")
    done: list[Created] = []
    with make_client(sandbox_org, replace(FAST, retries=8, retry_after_max=0.01)) as api:
        for i in range(6):
            attributes = guardrail(f"g{i}")
            known = {g.id for g in api.list(GUARDRAIL)}
            with contextlib.suppress(OutcomeUnknown):
                done.append(api.create(GUARDRAIL, attributes, known_ids=known))
    sandbox_org.reset()
    live = sandbox_org.request("GET", "guardrails").json()["data"]
    names = [o["attributes"]["name"] for o in live]
    assert len(names) == len(set(names)) == sandbox_org.writes()  # one object per create at most
    assert {(c.id, c.attributes["name"]) for c in done} <= {
        (o["id"], o["attributes"]["name"]) for o in live
    }
    assert any(c.adopted for c in done)


# --- small local servers for what the sandbox cannot do ----------------------------------


@dataclass
class Stub:
    """A programmable HTTP server on 127.0.0.1: ``routes[(method, path)]`` answers a request."""

    routes: dict[tuple[str, str], Reply | Callable[[Seen], Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def route(
        self, method: str, path: str, status: int = 200, body: Any = b"", **headers: str
    ) -> None:
        self.routes[(method, path)] = reply(status, body, **headers)

    def answer(self, seen: Seen) -> Reply:
        self.seen.append(seen)
        found = self.routes.get((seen.method, seen.path))
        if found is None:
            return (
                404,
                {"Content-Type": "application/json"},
                b'{"errors": [{"detail": "no route"}]}',
            )
        return found(seen) if callable(found) else found


@contextmanager
def serving(state: Stub, tls: ssl.SSLContext | None = None) -> Iterator[Stub]:
    """Serve ``state`` on 127.0.0.1 (over TLS with ``tls``) for the duration of the block."""
    with serve(state.answer, tls=tls) as url:
        state.url = url
        yield state


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serving(Stub()) as state:
        yield state


ORG_PATH = "/v1/orgs/acme"
LIST = f"{ORG_PATH}/guardrails"
TOKEN = "ics_v1_stub_token_0123456789"


@pytest.fixture
def stub_client(stub: Stub) -> Iterator[ApiClient]:
    with ApiClient(f"{stub.url}/v1", "acme", Secret(TOKEN), NO_RETRY) as api:
        yield api


def page(*ids: str, next_link: Any = None) -> dict[str, Any]:
    data = [{"id": i, "type": "guardrails", "attributes": {"name": i}} for i in ids]
    return {"data": data, "links": {"next": next_link}}


def test_links_next_absolute_relative_and_link_objects(stub: Stub, stub_client: ApiClient) -> None:
    stub.route("GET", LIST, body=page("a", next_link=f"{stub.url}{LIST}?page=2"))
    stub.route("GET", f"{LIST}?page=2", body=page("b", next_link="guardrails?page=3"))
    stub.route(
        "GET",
        f"{LIST}?page=3",
        body=page("c", "a", next_link={"href": "/v1/orgs/acme/guardrails?page=4"}),
    )
    stub.route("GET", f"{LIST}?page=4", body={"data": [{"id": "d"}], "links": {"next": ""}})
    listed = stub_client.list(GUARDRAIL)
    assert [o.id for o in listed] == ["a", "b", "c", "d"]  # "a" twice: kept once
    assert listed[3].attributes == {}
    assert stub_client.request_count == 4


def test_pagination_is_guarded(stub: Stub) -> None:
    with ApiClient(f"{stub.url}/v1", "acme", Secret(TOKEN), replace(NO_RETRY, max_pages=3)) as api:
        stub.route("GET", LIST, body=page("a", next_link=f"{LIST}?page=2"))
        stub.route("GET", f"{LIST}?page=2", body=page("b", next_link=LIST))
        with pytest.raises(ApiError, match=r"links\.next loops"):
            api.list(GUARDRAIL)
        stub.route("GET", f"{LIST}?page=2", body=page("b", next_link=f"{LIST}?page=3"))
        stub.route("GET", f"{LIST}?page=3", body=page("c", next_link=f"{LIST}?page=4"))
        with pytest.raises(ApiError, match="more than 3 pages"):
            api.list(GUARDRAIL)
        for other in ("http://127.0.0.2:1/v1/orgs/acme/guardrails", "https://127.0.0.1/x"):
            stub.route("GET", LIST, body=page("a", next_link=other))
            with pytest.raises(ApiError, match=r"links\.next points to another host"):
                api.list(GUARDRAIL)
    assert {s.path for s in stub.seen} <= {LIST, f"{LIST}?page=2", f"{LIST}?page=3"}


def test_redirects_are_refused(stub: Stub, stub_client: ApiClient) -> None:
    stub.route("GET", LIST, 302, Location=f"{stub.url}/elsewhere")
    with pytest.raises(ApiError) as caught:
        stub_client.list(GUARDRAIL)
    assert caught.value.status == 302
    assert f"redirect to {stub.url}/elsewhere refused" in str(caught.value)
    stub.route("PATCH", f"{LIST}/x", 308, Location="/elsewhere")
    with pytest.raises(ApiError, match="308 Permanent Redirect"):
        stub_client.update(GUARDRAIL, "x", {"message": "m"})
    assert [s.path for s in stub.seen] == [LIST, f"{LIST}/x"]


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (
            (200, {"Content-Type": "text/html"}, b"<html>Sign in</html>"),
            "not JSON (Content-Type text/html)",
        ),
        ((200, {}, b""), "not JSON"),
        ((200, {}, b"[]"), "not a JSON object"),
        ((200, {}, b'{"data": {"id": "x"}}'), "data is not a list"),
        ((200, {}, b'{"data": [{"attributes": {}}]}'), "a resource has no id"),
        ((200, {}, b'{"data": [{"id": "x", "attributes": []}]}'), "attributes of x not an object"),
        ((200, {}, b'{"data": ["x"]}'), "a resource is not an object"),
    ],
)
def test_malformed_2xx_answers_are_clear_errors(
    stub: Stub, stub_client: ApiClient, answer: Reply, says: str
) -> None:
    stub.routes[("GET", LIST)] = answer
    with pytest.raises(ApiError) as caught:
        stub_client.list(GUARDRAIL)
    assert str(caught.value).startswith(f"GET {LIST}: 200 OK: malformed answer: {says}")


def test_an_unreadable_create_answer_is_resolved_by_listing(
    stub: Stub, stub_client: ApiClient
) -> None:
    stub.route("POST", LIST, 201, "<html>created</html>", Content_Type="text/html")
    with pytest.raises(OutcomeUnknown, match=r"not JSON.*may or may not have been created"):
        stub_client.create(GUARDRAIL, {"name": "g"})
    stub.route("GET", LIST, body=page("old", "new"))
    created = stub_client.create(GUARDRAIL, {"name": "new"}, known_ids={"old"})
    assert created == Created("new", {"name": "new"}, adopted=True)


def test_update_body_and_a_204_answer(stub: Stub, stub_client: ApiClient) -> None:
    item = f"{LIST}/a%2Fb"  # ids are quoted into the path
    stub.route("PATCH", item, 204)
    stub.route("GET", item, body={"data": {"id": "a/b", "attributes": {"message": "m"}}})
    assert stub_client.update(GUARDRAIL, "a/b", {"message": "m"}) == LiveObject(
        "a/b", {"message": "m"}
    )
    patch = stub.seen[0]
    assert json.loads(patch.body) == {
        "data": {"id": "a/b", "type": "guardrails", "attributes": {"message": "m"}}
    }
    assert patch.headers["Content-Type"] == "application/json"
    assert patch.headers["Authorization"] == f"Bearer {TOKEN}"
    stub.route("DELETE", item, 200, {"meta": {}})
    assert stub_client.delete(GUARDRAIL, "a/b") is True  # any 2xx


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            (400, {"Content-Type": "application/json"}, b'{"message": "bad thing"}'),
            "400 Bad Request: bad thing",
        ),
        (
            (409, {}, b'{"error": {"message": "taken"}, "error_code": "conflict"}'),
            "409 Conflict: taken (conflict)",
        ),
        (
            (422, {}, b'{"errors": [{"title": "Invalid", "source": {"parameter": "q"}}, "odd"]}'),
            "422 Unprocessable ",
        ),
        (
            (418, {"Content-Type": "text/plain"}, b"  short\n\n and   stout \n"),
            "418 I'm a Teapot: short and stout",
        ),
        (
            (400, {"Content-Type": "text/html"}, b"<html><body>proxy says no</body></html>"),
            "400 Bad Request: an HTML page, not an API answer",
        ),
        ((400, {}, b"x" * 2000), "400 Bad Request: " + "x" * 499 + "…"),
        ((599, {}, b""), f"POST {LIST}: 599"),
    ],
)
def test_error_bodies_of_every_shape(
    stub: Stub, stub_client: ApiClient, answer: Reply, message: str
) -> None:
    stub.routes[("POST", LIST)] = answer
    with pytest.raises(ApiError) as caught:
        stub_client.create(GUARDRAIL, {"name": "g"})
    assert message in str(caught.value)


def test_an_echoed_token_is_redacted(stub: Stub, stub_client: ApiClient) -> None:
    def echo(seen: Seen) -> Reply:
        return 400, {"Content-Type": "text/plain"}, f"bad: {seen.headers['Authorization']}".encode()

    stub.routes[("GET", LIST)] = echo
    with pytest.raises(ApiError) as caught:
        stub_client.list(GUARDRAIL)
    assert str(caught.value).endswith("bad: Bearer ***")
    assert_secret_kept(caught.value, TOKEN)


def test_netrc_never_replaces_the_token(
    stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    stub.route("GET", LIST, body=page())
    with requests.Session() as plain:  # the control: a plain session sends ~/.netrc's password
        plain.get(f"{stub.url}{LIST}", timeout=5)
    assert stub.seen[-1].headers["Authorization"].startswith("Basic ")
    with ApiClient(f"{stub.url}/v1", "acme", Secret(TOKEN), NO_RETRY) as api:
        api.list(GUARDRAIL)
    assert stub.seen[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    with ApiClient(f"{stub.url}/v1", "acme", None, NO_RETRY) as api:
        api.list(GUARDRAIL)
    assert "Authorization" not in stub.seen[-1].headers


def test_proxies_come_from_the_environment(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    target = "http://127.0.0.1:9/v1/orgs/acme/guardrails"  # reached only through the proxy
    stub.route("GET", target, body=page("via-proxy"))
    monkeypatch.setenv("HTTP_PROXY", stub.url)
    with ApiClient("http://127.0.0.1:9/v1", "acme", Secret(TOKEN), NO_RETRY) as api:
        assert [o.id for o in api.list(GUARDRAIL)] == ["via-proxy"]
        assert stub.seen[-1].path == target
        assert stub.seen[-1].headers["Authorization"] == f"Bearer {TOKEN}"
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that is not there
        with pytest.raises(NoAnswer) as caught:
            api.create(GUARDRAIL, {"name": "g"}, known_ids=set())
        assert "proxy error: connection refused (check HTTPS_PROXY" in str(caught.value)
        assert not caught.value.maybe_processed


def test_a_ca_bundle_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    with serving(Stub(), tls) as server:
        server.route("GET", LIST, body=page("over-tls"))
        with ApiClient(f"{server.url}/v1", "acme", Secret(TOKEN), NO_RETRY) as api:
            with pytest.raises(NoAnswer) as caught:
                api.list(GUARDRAIL)  # a private CA is unknown...
            assert "TLS error: certificate verify failed" in str(caught.value)
            assert "REQUESTS_CA_BUNDLE" in str(caught.value)
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # ...until the bundle names it
            assert [o.id for o in api.list(GUARDRAIL)] == ["over-tls"]


def test_tls_to_a_plain_http_port_gets_no_ca_bundle_hint() -> None:
    """The CA bundle hint is for a certificate that failed, not for a server that speaks no TLS."""
    with serving(Stub()) as server:
        server.route("GET", LIST, body=page("plain"))
        url = server.url.replace("http://", "https://", 1)
        api = ApiClient(f"{url}/v1", "acme", Secret(TOKEN), NO_RETRY)
        with api, pytest.raises(NoAnswer) as caught:
            api.list(GUARDRAIL)
    assert "TLS error" in str(caught.value)
    assert "REQUESTS_CA_BUNDLE" not in str(caught.value)


# --- no answer ---------------------------------------------------------------------------


class Silent:
    """Accepts connections on 127.0.0.1 and never answers."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()


def test_a_server_that_never_answers_times_out(silent: Silent) -> None:
    settings = replace(FAST, read_timeout=0.3, retries=1)
    with ApiClient(f"{silent.url}/v1", "acme", Secret(TOKEN), settings) as api:
        start = time.monotonic()
        with pytest.raises(NoAnswer) as caught:
            api.list(GUARDRAIL)
        assert time.monotonic() - start >= 0.6  # two reads that each waited the timeout
        assert str(caught.value) == (
            f"GET {LIST}: timed out: no answer within 0.3 s (read timeout)"
        )
        assert caught.value.status is None and len(silent.accepted) == 2  # a GET is retried
        assert_secret_kept(caught.value, TOKEN)

        with pytest.raises(OutcomeUnknown) as unknown:
            api.create(GUARDRAIL, {"name": "g"}, known_ids=set())
        assert "no answer within 0.3 s" in str(unknown.value)
        assert "listing to check failed too" in str(unknown.value)
        assert len(silent.accepted) == 5  # the POST once (never resent), the list twice


def test_a_refused_connection_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with ApiClient(f"http://127.0.0.1:{port}/v1", "acme", Secret(TOKEN), FAST) as api:
        with pytest.raises(NoAnswer) as caught:
            api.list(GUARDRAIL)
        refused = f"cannot connect to 127.0.0.1:{port}: connection refused"
        assert str(caught.value) == f"GET {LIST}: {refused}"  # a client made without an origin
        # a refused connection is given up sooner than other failures
        assert FAST.connect_retries < FAST.retries
        assert api.request_count == 1 + FAST.connect_retries
        # nothing was sent: a POST may try again, and fails plainly, not as "outcome unknown"
        with pytest.raises(NoAnswer) as post:
            api.create(GUARDRAIL, {"name": "g"}, known_ids=set())
        assert type(post.value) is NoAnswer and not post.value.maybe_processed
        assert api.request_count == 2 * (1 + FAST.connect_retries)


# --- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://api.example.com/v1", "plain http"),
        ("http://10.0.0.1/v1", "plain http"),
        ("ftp://127.0.0.1/v1", r"not an http\(s\) URL"),
        ("https://user:pw@api.example.com/v1", "must not carry credentials"),
        ("sandbox", "must be started"),
    ],
)
def test_unsafe_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        ApiClient(url, "acme", Secret(TOKEN))


def test_safe_urls_are_accepted() -> None:
    for url in ("https://api.infracost.io/v1/", "http://localhost:8787/v1", "http://[::1]:1/v1"):
        ApiClient(url, "acme", Secret(TOKEN)).close()  # nothing is contacted
    with pytest.raises(ConfigError, match="no org"):
        ApiClient("https://api.infracost.io/v1", "", None)
    with pytest.raises(ValueError, match="invalid client settings"):
        ClientSettings(retries=-1)

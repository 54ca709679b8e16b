"""Fault injection: spec parsing, latency, 5xx, 429, dropped connections, seeds and scripts."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
import requests

from reconciler.sandbox import app as sandbox_app
from reconciler.sandbox.faults import Behaviour, FaultSpec, SpecError, parse_faults, parse_quirks

if TYPE_CHECKING:
    from tests.helpers.sandbox import MakeSandbox, SandboxOrg

POLICIES = "tagging-policies"
NEW_POLICY = {"data": {"attributes": {"name": "p", "tags": []}}}


# parsing


def test_parse_a_full_spec() -> None:
    spec = parse_faults(
        "latency_ms=20, error_rate=0.1,throttle_rate=0.05,drop_rate=0.05,seed=7,"
        "script=503,503,429,ok,drop"
    )
    assert spec == FaultSpec(20, 0.1, 0.05, 0.05, 7, ("503", "503", "429", "ok", "drop"))
    assert parse_faults(spec.describe()) == spec
    assert parse_faults("") == FaultSpec() and FaultSpec().describe() == ""
    assert parse_faults("script=503,seed=1") == FaultSpec(seed=1, script=("503",))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("latency=5", "unknown key 'latency'"),
        ("error_rate", "expected key=value"),
        ("error_rate=lots", "error_rate must be a number"),
        ("error_rate=1.5", "between 0 and 1"),
        ("drop_rate=-0.1", "between 0 and 1"),
        ("throttle_rate=nan", "between 0 and 1"),
        ("latency_ms=1.5", "whole number"),
        ("latency_ms=-1", "between 0"),
        ("seed=x", "whole number"),
        ("error_rate=0.6,throttle_rate=0.6", "must not exceed 1"),
        ("seed=1,seed=2", "given twice"),
        ("script=503,teapot", "script step 'teapot'"),
        ("script=418", "script step '418'"),
    ],
)
def test_bad_specs_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        parse_faults(spec)
    assert "\n" not in str(caught.value)


def test_quirk_names_are_checked() -> None:
    assert parse_quirks("reorder, paginate") == {"reorder", "paginate"}
    assert parse_quirks(["create_200"]) == {"create_200"}
    with pytest.raises(SpecError, match="unknown quirk 'sideways'"):
        parse_quirks("reorder,sideways")


def test_bad_specs_through_the_behaviour_route_are_400(sandbox_org: SandboxOrg) -> None:
    url = f"{sandbox_org.url}/_sandbox/orgs/{sandbox_org.org}/behaviour"
    response = sandbox_org.session.put(url, json={"faults": "error_rate=2"}, timeout=5)
    assert response.status_code == 400 and "between 0 and 1" in response.text
    response = sandbox_org.session.put(url, json={"quirks": "nope"}, timeout=5)
    assert response.status_code == 400
    response = sandbox_org.session.put(
        url, json={"faults": "seed=3", "quirks": ["reorder"]}, timeout=5
    )
    assert response.json() == {"faults": "seed=3", "quirks": ["reorder"]}
    assert sandbox_org.session.delete(url, timeout=5).status_code == 204
    assert sandbox_org.session.get(url, timeout=5).json() == {"faults": "", "quirks": []}


# behaviour


def test_faults_are_off_by_default(sandbox_org: SandboxOrg) -> None:
    statuses = {sandbox_org.request("GET", POLICIES).status_code for _ in range(30)}
    assert statuses == {200}


def test_latency_is_added_to_every_answer(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("latency_ms=150")
    start = time.monotonic()
    assert sandbox_org.request("GET", POLICIES).status_code == 200
    assert time.monotonic() - start >= 0.15
    start = time.monotonic()
    sandbox_org.policy()
    assert time.monotonic() - start >= 0.15


def test_latency_is_outside_any_transaction(
    sandbox_org: SandboxOrg, other_org: SandboxOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While slow writes wait out their latency, another org's writes are committed: the wait
    holds no transaction. The latency is held open until the fast writes are done, so the
    order is certain whatever the machine's speed."""
    waiting = threading.Semaphore(0)
    release = threading.Event()

    def held(seconds: float) -> None:
        waiting.release()
        release.wait(timeout=30)

    monkeypatch.setattr(sandbox_app, "time", SimpleNamespace(sleep=held))
    sandbox_org.set_faults("latency_ms=600")
    slow = [threading.Thread(target=sandbox_org.policy) for _ in range(4)]
    for thread in slow:
        thread.start()
    try:
        for _ in slow:  # all four are inside their latency
            assert waiting.acquire(timeout=10)
        for i in range(10):
            other_org.policy(f"fast-{i}")
        assert (other_org.writes(), sandbox_org.writes()) == (10, 0)
    finally:
        release.set()
        for thread in slow:
            thread.join()
    assert sandbox_org.writes() == 4
    sandbox_org.reset()
    assert len(sandbox_org.request("GET", POLICIES).json()["data"]) == 4


def test_errors_answer_5xx_without_touching_data(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy()
    sandbox_org.set_faults("error_rate=1,seed=3")
    statuses = set()
    for _ in range(12):
        for method, parts, body in [
            ("GET", (POLICIES,), None),
            ("POST", (POLICIES,), NEW_POLICY),
            ("PATCH", (POLICIES, policy["id"]), {"data": {"attributes": {"message": "x"}}}),
            ("DELETE", (POLICIES, policy["id"]), None),
        ]:
            response = sandbox_org.request(method, *parts, json=body)
            statuses.add(response.status_code)
            assert response.json()["errors"][0]["status"] == str(response.status_code)
    assert statuses == {500, 502, 503}
    sandbox_org.reset()
    assert sandbox_org.request("GET", POLICIES).json()["data"] == [policy]
    assert sandbox_org.writes() == 1


def test_throttling_answers_429_with_retry_after(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("throttle_rate=1")
    response = sandbox_org.request("POST", POLICIES, json=NEW_POLICY)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["errors"][0]["status"] == "429"
    assert sandbox_org.writes() == 0


def test_a_dropped_write_is_committed_but_never_answered(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("drop_rate=1")
    assert sandbox_org.request("GET", POLICIES).status_code == 200  # reads are never dropped
    with pytest.raises(requests.ConnectionError):
        sandbox_org.request("POST", POLICIES, json=NEW_POLICY)
    sandbox_org.reset()
    listed = sandbox_org.request("GET", POLICIES).json()["data"]
    assert [p["attributes"]["name"] for p in listed] == ["p"]
    assert sandbox_org.writes() == 1
    sandbox_org.set_faults("drop_rate=1")
    with pytest.raises(requests.ConnectionError):
        sandbox_org.request("DELETE", POLICIES, listed[0]["id"])
    with pytest.raises(requests.ConnectionError):
        sandbox_org.request(
            "POST", "custom-properties", data=b"repo\nr\n", headers={"Content-Type": "text/csv"}
        )
    sandbox_org.reset()
    assert sandbox_org.request("GET", POLICIES).json()["data"] == []
    assert sandbox_org.custom_properties() == (["repo"], [["r"]])


def test_a_failed_write_is_answered_even_when_dropping(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("drop_rate=1")
    response = sandbox_org.request("POST", POLICIES, json={"data": {"attributes": {}}})
    assert response.status_code == 400


def test_a_seed_gives_the_same_sequence(sandbox_org: SandboxOrg, other_org: SandboxOrg) -> None:
    def sequence(org: SandboxOrg, spec: str) -> list[int]:
        org.set_faults(spec)
        return [org.request("GET", POLICIES).status_code for _ in range(25)]

    first = sequence(sandbox_org, "error_rate=0.3,throttle_rate=0.3,seed=11")
    assert set(first) > {200}
    assert sequence(other_org, "error_rate=0.3,throttle_rate=0.3,seed=11") == first
    assert sequence(other_org, "error_rate=0.3,throttle_rate=0.3,seed=12") != first


def test_a_script_answers_the_next_requests_in_order(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_faults("script=503,503,429,ok,504,drop")
    statuses = [sandbox_org.request("GET", POLICIES).status_code for _ in range(5)]
    assert statuses == [503, 503, 429, 200, 504]
    with pytest.raises(requests.ConnectionError):
        sandbox_org.request("GET", POLICIES)
    assert [sandbox_org.request("GET", POLICIES).status_code for _ in range(5)] == [200] * 5


def test_faults_of_one_org_do_not_reach_another(
    sandbox_org: SandboxOrg, other_org: SandboxOrg
) -> None:
    sandbox_org.set_faults("error_rate=1")
    assert sandbox_org.request("GET", POLICIES).status_code >= 500
    assert [other_org.request("GET", POLICIES).status_code for _ in range(10)] == [200] * 10


def test_auth_errors_take_no_faults(sandbox_org: SandboxOrg, other_org: SandboxOrg) -> None:
    other_org.set_faults("error_rate=1")
    assert sandbox_org.session.get(other_org.path(POLICIES), timeout=5).status_code == 404


def test_server_wide_faults(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(
        behaviour=Behaviour(parse_faults("script=502"), frozenset({"create_200"}))
    )
    org = server.new_org()
    assert org.request("GET", POLICIES).status_code == 502
    response = org.request("POST", POLICIES, json=NEW_POLICY)
    assert response.status_code == 200  # the create_200 quirk
    org.set_faults("")  # an org override replaces the server's behaviour
    response = org.request("POST", POLICIES, json=NEW_POLICY)
    assert response.status_code == 201

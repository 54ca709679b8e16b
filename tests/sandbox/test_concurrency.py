"""Concurrent clients: no "database is locked", no lost write, every create stored."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from tests.helpers.sandbox import SandboxOrg

POLICIES = "tagging-policies"
GUARDRAILS = "guardrails"
CLIENTS = 16
TOTAL_WRITES = 1000

# Each client owns one attribute of a shared object and PATCHes only that one, so a lost update
# (a PATCH computed from a stale read) would show as another client's final value being undone.
GUARDRAIL_OWNED: list[tuple[str, Callable[[int], Any]]] = [
    ("name", lambda i: f"name-{i}"),
    ("message", lambda i: f"message-{i}"),
    ("webhookUrl", lambda i: f"https://hooks.example.com/{i}"),
    ("increaseThreshold", lambda i: i),
    ("increasePercentThreshold", lambda i: i + 0.5),
    ("totalThreshold", lambda i: i * 10),
    ("mailingListEmails", lambda i: [f"{i}@example.com"]),
    ("msTeamsEmails", lambda i: [f"t{i}@example.com"]),
]
POLICY_OWNED: list[tuple[str, Callable[[int], Any]]] = [
    ("name", lambda i: f"name-{i}"),
    ("message", lambda i: f"message-{i}"),
    ("filters", lambda i: {"repos": {"include": [f"r{i}"]}}),
    ("tags", lambda i: [{"key": f"k{i}"}]),
]


class Client:
    def __init__(
        self, org: SandboxOrg, number: int, writes: int, shared: list[tuple[str, str, str]]
    ) -> None:
        self.number = number
        self.writes = writes
        self.shared_kind, self.shared_id, self.attribute = shared[number]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {org.token}"
        self.url = org.path() + "/"
        self.mine: dict[str, str] = {}  # id -> expected message of this client's own policies
        self.shared_value: Any = None
        self.failures: list[str] = []

    def _send(self, method: str, path: str, json: Any = None) -> requests.Response | None:
        response = self.session.request(method, f"{self.url}{path}", json=json, timeout=30)
        if not response.ok:
            self.failures.append(f"{method} {path}: {response.status_code} {response.text}")
            return None
        return response

    def run(self) -> None:
        rng = random.Random(self.number)
        kinds = {"g": (GUARDRAILS, dict(GUARDRAIL_OWNED)), "p": (POLICIES, dict(POLICY_OWNED))}
        for i in range(self.writes):
            choice = rng.random()
            if choice < 0.3 or (choice < 0.55 and not self.mine):
                response = self._send(
                    "POST",
                    POLICIES,
                    {"data": {"attributes": {"name": f"c{self.number}", "tags": []}}},
                )
                if response is not None:
                    self.mine[response.json()["data"]["id"]] = ""
            elif choice < 0.55:
                target = rng.choice(sorted(self.mine))
                if self._send(
                    "PATCH", f"{POLICIES}/{target}", {"data": {"attributes": {"message": f"m{i}"}}}
                ):
                    self.mine[target] = f"m{i}"
            elif choice < 0.65 and self.mine:
                target = rng.choice(sorted(self.mine))
                if self._send("DELETE", f"{POLICIES}/{target}"):
                    del self.mine[target]
            else:
                kind, owned = kinds[self.shared_kind]
                value = owned[self.attribute](i)
                body = {"data": {"attributes": {self.attribute: value}}}
                if self._send("PATCH", f"{kind}/{self.shared_id}", body):
                    self.shared_value = value


def test_16_clients_1000_mixed_writes(sandbox_org: SandboxOrg) -> None:
    guardrail = sandbox_org.guardrail("shared")
    policies = [sandbox_org.policy("shared-1"), sandbox_org.policy("shared-2")]
    shared = [("g", guardrail["id"], name) for name, _ in GUARDRAIL_OWNED]
    shared += [("p", policy["id"], name) for policy in policies for name, _ in POLICY_OWNED]
    assert len(shared) == CLIENTS
    setup_writes = sandbox_org.writes()
    share, extra = divmod(TOTAL_WRITES, CLIENTS)
    clients = [Client(sandbox_org, n, share + (n < extra), shared) for n in range(CLIENTS)]
    assert sum(c.writes for c in clients) == TOTAL_WRITES

    barrier = threading.Barrier(CLIENTS)

    def run(client: Client) -> None:
        barrier.wait()
        client.run()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(run, clients))

    failures = [f for c in clients for f in c.failures]
    assert failures == []  # no 500 "database is locked", nothing else either
    assert sandbox_org.writes() == setup_writes + TOTAL_WRITES

    # every client's own policies are exactly what it thinks they are
    stored = {p["id"]: p["attributes"] for p in sandbox_org.request("GET", POLICIES).json()["data"]}
    for client in clients:
        ours = {i: a["message"] for i, a in stored.items() if a["name"] == f"c{client.number}"}
        assert ours == client.mine
    # and every owned attribute of the shared objects holds its owner's last write
    for client in clients:
        if client.shared_value is None:
            continue
        kind = GUARDRAILS if client.shared_kind == "g" else POLICIES
        attributes = sandbox_org.request("GET", kind, client.shared_id).json()["data"]["attributes"]
        value = attributes[client.attribute]
        if client.attribute == "filters":
            value = {"repos": {"include": value["repos"]["include"]}}
        if client.attribute == "tags":
            value = [{"key": tag["key"]} for tag in value]
        assert value == client.shared_value, (client.number, client.attribute)


def test_50_concurrent_creates_of_one_name_are_all_stored(sandbox_org: SandboxOrg) -> None:
    barrier = threading.Barrier(50)
    body = {"data": {"type": GUARDRAILS, "attributes": {"name": "same", "scope": "PROJECT"}}}

    def create(_: int) -> tuple[int, str]:
        with requests.Session() as session:
            session.trust_env = False
            session.headers["Authorization"] = f"Bearer {sandbox_org.token}"
            barrier.wait()
            response = session.post(sandbox_org.path(GUARDRAILS), json=body, timeout=30)
            return response.status_code, response.json()["data"]["id"]

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(create, range(50)))
    assert {status for status, _ in results} == {201}
    ids = {object_id for _, object_id in results}
    assert len(ids) == 50
    listed = sandbox_org.request("GET", GUARDRAILS).json()["data"]
    assert {g["id"] for g in listed} == ids
    assert {g["attributes"]["name"] for g in listed} == {"same"}

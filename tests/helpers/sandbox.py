"""Typed handles on a sandbox served for the tests: a server, and one org of it with its token;
a server of the ServiceNow Table API side, with its credentials.

The fixtures that make them (``sandbox``, ``sandbox_org``, ``other_org``, ``make_sandbox``,
``servicenow``, ``make_servicenow``) are in ``tests/conftest.py``; test modules import these classes
for their annotations.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

import requests

from reconciler.sandbox import servicenow
from reconciler.sandbox.app import create_app
from reconciler.sandbox.faults import Behaviour, Controls, parse_faults
from reconciler.sandbox.server import RunningServer, start
from reconciler.sandbox.store import Store

SERVICENOW_CASES = Path(__file__).resolve().parents[1] / "cases" / "servicenow"
# 300 business applications (sys_id, u_app_id, name, operational_status, install_status), 37 of
# them retired (install_status 7)
BUSINESS_APPS = SERVICENOW_CASES / "cmdb_ci_business_app.csv"

_org_numbers = itertools.count(1)


def local_session(token: str | None = None) -> requests.Session:
    """A session that never uses a proxy from the environment: tests talk to 127.0.0.1 only."""
    session = requests.Session()
    session.trust_env = False
    if token is not None:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


class SandboxOrg:
    """One org of a running sandbox, with its token and the helpers tests need."""

    def __init__(self, url: str, org: str, token: str) -> None:
        self.url = url  # the server, e.g. http://127.0.0.1:40123
        self.base_url = f"{url}/v1"
        self.org = org
        self.token = token
        self.session = local_session(token)
        self._faults = ""
        self._quirks: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never show the token
        return f"SandboxOrg({self.base_url!r}, {self.org!r})"

    def path(self, *parts: str) -> str:
        return "/".join([f"{self.base_url}/orgs/{self.org}", *parts])

    def request(self, method: str, *parts: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.path(*parts), **kwargs)

    def create(self, kind: str, attributes: dict[str, Any]) -> dict[str, Any]:
        """POST one object; returns the answer's ``data``."""
        response = self.request(
            "POST", kind, json={"data": {"type": kind, "attributes": attributes}}
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def policy(self, name: str = "policy", **attributes: Any) -> dict[str, Any]:
        return self.create(
            "tagging-policies", {"name": name, "tags": [{"key": "env"}], **attributes}
        )

    def guardrail(self, name: str = "guardrail", **attributes: Any) -> dict[str, Any]:
        return self.create("guardrails", {"name": name, "scope": "PULL_REQUEST", **attributes})

    # test-only routes

    def _test_route(self, method: str, name: str, **kwargs: Any) -> requests.Response:
        url = f"{self.url}/_sandbox/orgs/{self.org}/{name}"
        response = self.session.request(method, url, timeout=10, **kwargs)
        assert response.ok, response.text
        return response

    def set_faults(self, spec: str) -> None:
        self._faults = spec
        self._put_behaviour()

    def set_quirks(self, *names: str) -> None:
        self._quirks = names
        self._put_behaviour()

    def _put_behaviour(self) -> None:
        body = {"faults": self._faults, "quirks": ",".join(self._quirks)}
        self._test_route("PUT", "behaviour", json=body)

    def reset(self) -> None:
        """Back to the server's behaviour: no faults, no quirks."""
        self._faults, self._quirks = "", ()
        self._test_route("DELETE", "behaviour")

    def writes(self) -> int:
        """How many writes (POST, PATCH, DELETE, upload) the sandbox committed for this org."""
        count: int = self._test_route("GET", "stats").json()["writes"]
        return count

    def requests(self) -> int:
        """How many /v1 requests the sandbox received for this org."""
        count: int = self._test_route("GET", "stats").json()["requests"]
        return count

    def custom_properties(self) -> tuple[list[str], list[list[str]]]:
        body = self._test_route("GET", "custom-properties").json()
        return body["columns"], body["rows"]


class SandboxServer:
    def __init__(self, server: RunningServer, store: Store) -> None:
        self.url = server.url
        self.base_url = f"{server.url}/v1"
        self.store = store
        self._server = server

    def new_org(self, prefix: str = "org") -> SandboxOrg:
        org = f"{prefix}-{next(_org_numbers)}"
        return SandboxOrg(self.url, org, self.store.create_token(org))


def serve(db: Path, stack: ExitStack, **app_options: Any) -> SandboxServer:
    store = Store(db)
    stack.callback(store.close)
    server = start(create_app(store, **app_options), "127.0.0.1", 0)
    stack.callback(server.stop)
    return SandboxServer(server, store)


MakeSandbox = Callable[..., SandboxServer]


class ServiceNowServer:
    """A sandbox serving the ServiceNow Table API, with the credentials it accepts.

    ``session`` sends Basic auth (``user``, ``password``); ``token`` works as a bearer token.
    """

    def __init__(self, url: str, user: str, password: str, token: str | None) -> None:
        self.url = url  # the instance, e.g. http://127.0.0.1:40123 (like https://x.service-now.com)
        self.user = user
        self.password = password
        self.token = token
        self.session = local_session()
        self.session.auth = (user, password)

    def __repr__(self) -> str:  # never show the password or the token
        return f"ServiceNowServer({self.url!r}, user={self.user!r})"

    def table_url(self, table: str, *parts: str) -> str:
        return "/".join([f"{self.url}/api/now/table/{table}", *parts])

    def get(self, table: str, *parts: str, **params: Any) -> requests.Response:
        """``GET /api/now/table/{table}[/{sys_id}]`` with these query parameters, Basic auth."""
        return self.session.get(self.table_url(table, *parts), params=params, timeout=10)

    def set_faults(self, spec: str) -> None:
        """The faults of the ServiceNow side (``faults`` specs, e.g. ``script=ok,429,ok``)."""
        self._behaviour("PUT", json={"faults": spec})

    def reset(self) -> None:
        """Back to the server's faults (none unless the server was started with some)."""
        self._behaviour("DELETE")

    def _behaviour(self, method: str, **kwargs: Any) -> requests.Response:
        url = f"{self.url}/_sandbox/servicenow/behaviour"
        response = self.session.request(method, url, timeout=10, **kwargs)
        assert response.ok, response.text
        return response


class MakeServiceNow(Protocol):
    def __call__(
        self,
        tables: Mapping[str, Path] | None = None,
        *,
        faults: str = "",
        user: str = "admin",
        password: str = "sandbox-password",
        token: str | None = "sandbox-token",
    ) -> ServiceNowServer: ...


def serve_servicenow(
    db: Path,
    stack: ExitStack,
    tables: Mapping[str, Path] | None = None,
    *,
    faults: str = "",
    user: str = "admin",
    password: str = "sandbox-password",
    token: str | None = "sandbox-token",
) -> ServiceNowServer:
    """A private server with these tables (default: ``cmdb_ci_business_app`` from BUSINESS_APPS);
    ``faults`` is the server's spec, in force until ``set_faults`` or after ``reset``."""
    chosen = tables if tables is not None else {"cmdb_ci_business_app": BUSINESS_APPS}
    service = servicenow.load(chosen, user=user, password=password, token=token)
    store = Store(db)
    stack.callback(store.close)
    controls = Controls(Behaviour(parse_faults(faults)))
    server = start(create_app(store, controls=controls, servicenow=service), "127.0.0.1", 0)
    stack.callback(server.stop)
    return ServiceNowServer(server.url, user, password, token)

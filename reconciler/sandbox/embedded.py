"""The embedded sandbox behind ``api: sandbox``: in-process, on an ephemeral loopback port.

The database persists (``.reconciler/sandbox.db`` beside the config, chosen by the caller), so plan,
apply and a second plan see the same data across commands. Each use makes its own token, bound to
the org, and revokes it on the way out: ``INFRACOST_SERVICE_TOKEN`` is never involved.

``embedded_servicenow`` serves the ServiceNow Table API side alone (``instance: sandbox``), from CSV
fixtures, with a random password and bearer token made for the block.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.sandbox import servicenow
from reconciler.sandbox.app import create_app
from reconciler.sandbox.server import start
from reconciler.sandbox.store import Store


@dataclass(frozen=True)
class Endpoint:
    base_url: str  # ends with /v1, like https://api.infracost.io/v1
    org: str
    token: str = field(repr=False)


@contextmanager
def embedded(db_path: Path, org: str) -> Iterator[Endpoint]:
    """Serve the sandbox on 127.0.0.1:0 for the duration of the block.

    Raises SandboxError (a ReconcilerError) for an invalid org slug, a database that cannot be
    used, or no free port.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:  # undone in reverse: stop, revoke, close
        store = Store(db_path)
        cleanup.callback(store.close)
        token = store.create_token(org)
        cleanup.callback(store.revoke_token, token)
        server = start(create_app(store), "127.0.0.1", 0)
        cleanup.callback(server.stop)
        yield Endpoint(base_url=f"{server.url}/v1", org=org, token=token)


@dataclass(frozen=True)
class ServiceNowEndpoint:
    base_url: str  # http://127.0.0.1:<port>, like https://<instance>.service-now.com
    user: str
    password: str = field(repr=False)
    token: str = field(repr=False)  # for Authorization: Bearer, instead of user and password


@contextmanager
def embedded_servicenow(
    tables: Mapping[str, Path], *, user: str = "admin"
) -> Iterator[ServiceNowEndpoint]:
    """Serve the ServiceNow Table API over ``tables`` (name -> CSV file) on 127.0.0.1:0 for the
    duration of the block, with a random password and token.

    Raises SandboxError (a ReconcilerError) for a table that cannot be loaded or no free port.
    """
    token = secrets.token_urlsafe(32)
    service = servicenow.load(tables, user=user, password=secrets.token_urlsafe(24), token=token)
    # the Infracost side needs a store; nobody holds a token for it, so it serves nothing here
    with (
        tempfile.TemporaryDirectory(prefix="reconciler-servicenow-") as tmp,
        ExitStack() as cleanup,
    ):
        store = Store(Path(tmp) / "sandbox.db")
        cleanup.callback(store.close)
        server = start(create_app(store, servicenow=service), "127.0.0.1", 0)
        cleanup.callback(server.stop)
        yield ServiceNowEndpoint(server.url, service.user, service.password, token)

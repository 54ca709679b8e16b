"""The embedded sandbox behind ``api: sandbox``: in-process, on an ephemeral loopback port.

The database persists (``.reconciler/sandbox.db`` beside the config, chosen by the caller), so plan,
apply and a second plan see the same data across commands. Each use makes its own token, bound to
the org, and revokes it on the way out: ``INFRACOST_SERVICE_TOKEN`` is never involved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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

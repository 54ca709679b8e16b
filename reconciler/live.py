"""The live state: the API the settings or a saved plan name (the embedded sandbox or the real
one), listed once per kind."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler import kinds
from reconciler.errors import ConfigError
from reconciler.model import LiveObject
from reconciler.settings import CONFIG_NAME, Settings

if TYPE_CHECKING:
    from reconciler.http.infracost import ApiClient

SANDBOX_DB = Path(".reconciler") / "sandbox.db"


@dataclass(frozen=True)
class Connection:
    client: ApiClient
    org: str
    label: str  # for people: the URL, or "sandbox"
    record: str  # for plan files: the URL, or "sandbox:<db path>" (its port changes every run)


def require_org(settings: Settings) -> str:
    if not settings.org:
        raise ConfigError(f"no org: set org in {CONFIG_NAME}, INFRACOST_ORG or --org", field="org")
    return settings.org


@contextmanager
def connect(settings: Settings, env: Mapping[str, str]) -> Iterator[Connection]:
    """The API the settings name. Embedded mode never sends INFRACOST_SERVICE_TOKEN."""
    from reconciler.http.infracost import ApiClient

    org = require_org(settings)
    if settings.is_sandbox:
        from reconciler.sandbox.embedded import embedded
        from reconciler.settings import Secret

        base = settings.config_file.parent if settings.config_file else settings.dir
        db = (base / SANDBOX_DB).resolve()
        with (
            embedded(db, org) as endpoint,
            ApiClient(endpoint.base_url, org, Secret(endpoint.token)) as client,
        ):
            yield Connection(client, org, "sandbox", f"sandbox:{db}")
        return
    if settings.token is None:
        from urllib.parse import urlsplit

        from reconciler.settings import is_loopback

        if is_loopback(urlsplit(settings.api).hostname or ""):
            how = (
                "for a local sandbox server: "
                f"export INFRACOST_SERVICE_TOKEN=$(reconciler sandbox token --org {org}) in the "
                "directory where the server runs (or with its --db)"
            )
        else:
            how = (
                "create a service account token in Infracost Cloud (Org Settings > API tokens) "
                "and export it"
            )
        raise ConfigError(f"INFRACOST_SERVICE_TOKEN is not set: {how}")
    origin = settings.origin.get("api", "")
    with ApiClient(settings.api, org, settings.token, origin=origin) as client:
        yield Connection(client, org, settings.api, settings.api)


@contextmanager
def connect_recorded(org: str, record: str, env: Mapping[str, str]) -> Iterator[Connection]:
    """The API a saved plan names: ``record`` is its ``Connection.record`` (the URL, or
    ``sandbox:<db path>``, whose embedded server is started again on that database)."""
    from reconciler.http.infracost import ApiClient
    from reconciler.settings import ENV_TOKEN, Secret, check_api_url

    if record.startswith("sandbox:"):
        from reconciler.sandbox.embedded import embedded

        db = Path(record[len("sandbox:") :])
        if not db.is_file():
            raise ConfigError(f"the plan's sandbox database {db} does not exist any more")
        with (
            embedded(db, org) as endpoint,
            ApiClient(endpoint.base_url, org, Secret(endpoint.token)) as client,
        ):
            yield Connection(client, org, "sandbox", record)
        return
    check_api_url(record, "the plan file")
    token = env.get(ENV_TOKEN)
    if not token:
        raise ConfigError(f"{ENV_TOKEN} is not set")
    with ApiClient(record, org, Secret(token), origin="the saved plan") as client:
        yield Connection(client, org, record, record)


def fetch_live(client: ApiClient) -> dict[str, list[LiveObject]]:
    """One list request per kind (plus pages), never one GET per object."""
    return {name: client.list(kind) for name, kind in kinds.OBJECT_KINDS.items()}


class Prefetch:
    """``fetch_live`` in a thread of its own, started before the files are read: the list
    requests wait on the network while the main thread parses and checks. ``result`` waits
    for it and raises what it raised. A run that stops before asking for the result (a file
    with errors) just closes the connection; the daemon thread never delays the exit."""

    def __init__(self, client: ApiClient) -> None:
        self._done = threading.Event()
        self._live: dict[str, list[LiveObject]] = {}
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(client,), name="fetch-live", daemon=True).start()

    def _run(self, client: ApiClient) -> None:
        try:
            self._live = fetch_live(client)
        except BaseException as exc:  # handed to the main thread by result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> dict[str, list[LiveObject]]:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._live

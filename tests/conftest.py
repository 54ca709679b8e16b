"""Shared fixtures: the sandbox API served on 127.0.0.1 for the session, and a fresh org per test.

- ``sandbox``: the session's server (a real HTTP server in a thread, with a fresh database);
- ``sandbox_org`` and ``other_org``: a new org with its own token for one test. Faults and quirks
  set through them apply to that org only and are reset afterwards, so nothing leaks between
  tests; helpers read the org's write counter and its stored custom properties (test-only routes
  outside ``/v1``), see ``tests/helpers/sandbox.py``;
- ``make_sandbox``: a factory for a private server (another body limit, server-wide faults);
- ``servicenow`` and ``make_servicenow``: a private server of the ServiceNow Table API side, with
  ``cmdb_ci_business_app`` (300 rows) or the tables and faults given;
- ``http``: a session with no token that ignores proxy settings;
- ``fake``: a fake GitHub REST API served on 127.0.0.1 for one test.

``REGENERATE=1`` (rewrite golden files) is refused when ``CI`` is set: see
``tests/helpers/golden.py``. The compiled validators are cached in a directory of the run
(``XDG_CACHE_HOME``), never in the user's home.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler import secrets
from reconciler.sandbox.faults import Behaviour, Controls
from tests.helpers import golden
from tests.helpers.fakegithub import FakeGitHub
from tests.helpers.fakegithub import serve as serve_github
from tests.helpers.sandbox import (
    MakeSandbox,
    MakeServiceNow,
    SandboxOrg,
    SandboxServer,
    ServiceNowServer,
    local_session,
    serve,
    serve_servicenow,
)

__all__ = ["MakeSandbox", "SandboxOrg", "SandboxServer"]  # still importable from here


def pytest_configure(config: pytest.Config) -> None:
    """A session that would rewrite golden files in CI stops before it starts. Each process of
    the run (xdist's workers too) caches its compiled validators in a directory of its own,
    removed at the end: the tests write nothing to the user's home."""
    why = golden.refusal()
    if why is not None:
        raise pytest.UsageError(why)
    _CACHE.append(tempfile.mkdtemp(prefix="reconciler-test-cache-"))
    os.environ["XDG_CACHE_HOME"] = _CACHE[-1]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with ExitStack() as stack:
        yield serve(tmp_path_factory.mktemp("sandbox") / "sandbox.db", stack)


@pytest.fixture
def sandbox_org(sandbox: SandboxServer) -> Iterator[SandboxOrg]:
    org = sandbox.new_org()
    yield org
    org.reset()
    org.session.close()


@pytest.fixture
def other_org(sandbox: SandboxServer) -> Iterator[SandboxOrg]:
    org = sandbox.new_org("other")
    yield org
    org.reset()
    org.session.close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A session with no token and no proxy."""
    with local_session() as session:
        yield session


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[MakeSandbox]:
    """Start a private server: ``make_sandbox(max_body_bytes=..., faults=..., quirks=...)``."""
    with ExitStack() as stack:
        numbers = itertools.count(1)

        def make(*, behaviour: Behaviour | None = None, **app_options: Any) -> SandboxServer:
            db = tmp_path / f"private-{next(numbers)}.db"
            controls = Controls(behaviour) if behaviour is not None else None
            return serve(db, stack, controls=controls, **app_options)

        yield make


@pytest.fixture
def make_servicenow(tmp_path: Path) -> Iterator[MakeServiceNow]:
    """Start a private ServiceNow Table API: ``make_servicenow({"cmdb_ci_business_app": path},
    faults="script=ok,429,ok", user=..., password=..., token=...)``; default tables: the
    ``cmdb_ci_business_app`` fixture in ``tests/cases/servicenow/``."""
    with ExitStack() as stack:
        numbers = itertools.count(1)

        def make(tables: Mapping[str, Path] | None = None, **options: Any) -> ServiceNowServer:
            db = tmp_path / f"servicenow-{next(numbers)}.db"
            return serve_servicenow(db, stack, tables, **options)

        yield make


@pytest.fixture
def servicenow(make_servicenow: MakeServiceNow) -> ServiceNowServer:
    """A ServiceNow Table API serving ``cmdb_ci_business_app`` (300 rows, 37 retired)."""
    return make_servicenow()


@pytest.fixture(autouse=True)
def _no_secrets_from_other_tests() -> Iterator[None]:
    """The run-wide registry of secret values (reconciler.secrets) belongs to one run: a test
    starts with none, whatever ran before it in this worker."""
    secrets.forget()
    yield
    secrets.forget()


_CACHE: list[str] = []


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _CACHE:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with serve_github(FakeGitHub()) as server:
        yield server

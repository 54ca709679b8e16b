"""`reconciler sandbox token|serve` and the embedded sandbox."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from reconciler.cli import main
from reconciler.sandbox.embedded import Endpoint, embedded
from reconciler.sandbox.store import Store, StoreError

TOKEN = re.compile(r"ics_v1_[0-9a-f]{48}")


def run(*args: str, cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, env={}, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


def local() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


# token


def test_token_prints_a_token_and_nothing_else(tmp_path: Path) -> None:
    """On stdout; stderr names the database only when the token made it (the surprise)."""
    code, out, err = run("sandbox", "token", "--org", "acme", cwd=tmp_path)
    assert code == 0 and err.startswith("Created the sandbox database .reconciler/sandbox.db: ")
    assert TOKEN.fullmatch(out.removesuffix("\n")) and out.count("\n") == 1
    db = tmp_path / ".reconciler" / "sandbox.db"
    store = Store(db)
    try:
        assert store.authenticate(out.strip()) == "acme"
        code, second, err = run("--org", "acme", "sandbox", "token", cwd=tmp_path)  # flag before
        assert (code, err) == (0, "") and second != out
        assert store.authenticate(second.strip()) == "acme"
    finally:
        store.close()


def test_token_with_a_relative_db(tmp_path: Path) -> None:
    code, _, _ = run("sandbox", "token", "--org", "acme", "--db", "state/x.db", cwd=tmp_path)
    assert code == 0 and (tmp_path / "state" / "x.db").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sandbox", "token"], "--org SLUG is required"),
        (["sandbox", "token", "--org", "a/b"], "invalid org slug 'a/b'"),
        (["sandbox"], "required: SUBCOMMAND"),
        (["sandbox", "serve", "--faults", "error_rate=2"], "error_rate must be between 0 and 1"),
        (["sandbox", "serve", "--quirks", "reorder,nope"], "unknown quirk 'nope'"),
        (["sandbox", "serve", "--port", "70000"], "port must be between 0 and 65535"),
        (["sandbox", "serve", "--port", "http"], "not a port number"),
        (["sandbox", "serve", "--max-body-bytes", "0"], "--max-body-bytes must be at least 1"),
    ],
)
def test_user_errors_exit_1_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    code, out, err = run(*args, cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / ".reconciler").exists()


def test_a_file_that_is_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("hello, this is not SQLite " * 100)
    code, out, err = run("sandbox", "token", "--org", "acme", "--db", "notes.db", cwd=tmp_path)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "cannot use the sandbox database" in err


def test_a_busy_port_is_a_user_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        code, out, err = run("sandbox", "serve", "--port", port, cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.startswith(f"Error: cannot listen on 127.0.0.1:{port}") and err.count("\n") == 1


# serve, as a real process


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    command = [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"]
    command += ["--faults", "script=503", "--quirks", "create_200"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_serves_and_stops_cleanly(
    serve: tuple[subprocess.Popen[str], str], tmp_path: Path, stop: signal.Signals
) -> None:
    process, url = serve
    code, token, _ = run("sandbox", "token", "--org", "acme", cwd=tmp_path)  # while serving
    assert code == 0
    with local() as session:
        session.headers["Authorization"] = f"Bearer {token.strip()}"
        policies = f"{url}/v1/orgs/acme/tagging-policies"
        assert session.get(policies, timeout=5).status_code == 503  # --faults script=503
        body = {"data": {"attributes": {"name": "p", "tags": []}}}
        assert (
            session.post(policies, json=body, timeout=5).status_code == 200
        )  # --quirks create_200
        assert len(session.get(policies, timeout=5).json()["data"]) == 1
    process.send_signal(stop)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert out == ""  # the URL line was read already; nothing else on stdout
    assert "Sandbox stopped." in err and "Traceback" not in err
    assert token.strip() not in err and "GET /v1" not in err  # no token, no request log
    assert "Faults: script=503" in err and "Quirks: create_200" in err
    with pytest.raises(requests.ConnectionError), local() as session:
        session.get(f"{url}/_sandbox/health", timeout=2)


# embedded


def test_embedded_serves_a_persistent_database_on_loopback(tmp_path: Path) -> None:
    db = tmp_path / "project" / ".reconciler" / "sandbox.db"
    with embedded(db, "acme") as endpoint, local() as session:
        assert isinstance(endpoint, Endpoint)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", endpoint.base_url)
        assert endpoint.org == "acme" and TOKEN.fullmatch(endpoint.token)
        assert endpoint.token not in repr(endpoint)
        session.headers["Authorization"] = f"Bearer {endpoint.token}"
        body = {"data": {"attributes": {"name": "g", "scope": "PROJECT"}}}
        created = session.post(f"{endpoint.base_url}/orgs/acme/guardrails", json=body, timeout=5)
        assert created.status_code == 201
        first = endpoint
    with pytest.raises(requests.ConnectionError), local() as session:
        session.get(f"{first.base_url}/orgs/acme/guardrails", timeout=2)
    store = Store(db)
    try:
        assert store.authenticate(first.token) is None  # revoked on the way out
    finally:
        store.close()
    with embedded(db, "acme") as endpoint, local() as session:
        assert endpoint.token != first.token
        session.headers["Authorization"] = f"Bearer {endpoint.token}"
        listed = session.get(f"{endpoint.base_url}/orgs/acme/guardrails", timeout=5).json()["data"]
        assert [g["id"] for g in listed] == [created.json()["data"]["id"]]


def test_the_database_is_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    "setup",
    ["CREATE TABLE unrelated (x)", "PRAGMA user_version = 99"],
)
def test_a_foreign_database_is_refused(tmp_path: Path, setup: str) -> None:
    db = tmp_path / "s.db"
    with sqlite3.connect(db) as conn:
        conn.execute(setup)
    with pytest.raises(StoreError, match="cannot use the sandbox database"):
        Store(db)

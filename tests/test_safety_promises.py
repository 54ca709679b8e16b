"""The safety promises, one test each, named after the promise it keeps (issue 13, item 7).

Each test was checked against the single-point change that breaks its promise (the list is in
the issue): the flows run over real HTTP against the sandbox, the pure rules on literal data.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from reconciler import planfile
from reconciler.apply import Event, Executor
from reconciler.desired import prepare, read_desired
from reconciler.errors import ConfigError, InputError
from reconciler.http.infracost import ApiClient, ClientSettings
from reconciler.http.transport import NoAnswer, Transport, TransportSettings
from reconciler.live import fetch_live
from reconciler.model import LiveObject
from reconciler.plan import Options, build_plan, make_plan
from reconciler.settings import Secret, check_api_url, check_url, is_loopback, shown_url
from tests.helpers.cli import against, run
from tests.helpers.local_http import self_signed
from tests.helpers.sandbox import SandboxOrg

FAST = ClientSettings(
    connect_timeout=2,
    read_timeout=5,
    retries=2,
    backoff_factor=0.01,
    backoff_max=0.05,
    backoff_jitter=0.0,
    retry_after_max=0.05,
)
TOKEN = "ics_v1_0123456789abcdef0123456789abcdef0123456789abcdef"


def write(directory: Path, documents: str, config: str = "org: acme\napi: sandbox\n") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text(config)
    (directory / "desired.yaml").write_text(documents)
    return directory


def guardrail(name: str, threshold: int = 100, extra: str = "") -> str:
    return f"kind: Guardrail\nname: {name}\nscope: PROJECT\ntotalThreshold: {threshold}\n{extra}"


def policy(name: str, message: str = "") -> str:
    text = f"kind: TaggingPolicy\nname: {name}\ntags:\n  - key: env\n"
    return text + (f"message: {message}\n" if message else "")


def docs(*documents: str) -> str:
    return "---\n".join(documents)


def live(org: SandboxOrg, kind: str) -> dict[str, dict[str, Any]]:
    """The org's objects of one kind (API path), by name."""
    objects = org.request("GET", kind).json()["data"]
    return {o["attributes"]["name"]: o for o in objects}


def apply_dir(directory: Path, org: SandboxOrg, *extra: str) -> tuple[int, str, str]:
    flags, env = against(org)
    return run("apply", ".", *flags, "--auto-approve", *extra, cwd=directory, env=env)


@pytest.fixture
def client(sandbox_org: SandboxOrg) -> Iterator[ApiClient]:
    with ApiClient(sandbox_org.base_url, sandbox_org.org, Secret(sandbox_org.token), FAST) as c:
        yield c


# --- stale plans ---------------------------------------------------------------------------


def test_a_saved_plan_never_deletes_an_object_edited_since_the_plan(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = write(tmp_path / "d", docs(guardrail("Kept"), guardrail("Doomed")))
    assert apply_dir(directory, sandbox_org)[0] == 0
    write(directory, docs(guardrail("Kept"), "kind: Guardrail\nname: Doomed\nabsent: true\n"))
    flags, env = against(sandbox_org)
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)
    assert code == 0, out + err
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in out
    doomed = live(sandbox_org, "guardrails")["Doomed"]
    sandbox_org.request(
        "PATCH", "guardrails", doomed["id"], json={"data": {"attributes": {"message": "keep me"}}}
    )
    writes = sandbox_org.writes()
    code, out, err = run("apply", "plan.json", cwd=directory, env=env)
    assert code == 4, out + err
    assert 'Guardrail/Doomed: message changed since the plan ("" -> "keep me")' in err
    assert sandbox_org.writes() == writes
    assert live(sandbox_org, "guardrails")["Doomed"]["attributes"]["message"] == "keep me"


def test_a_plan_made_while_a_secret_was_unset_never_applies_once_it_is_set(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = write(tmp_path / "d", guardrail("Hooked", extra="webhookUrl: {fromEnv: HOOK}\n"))
    flags, env = against(sandbox_org)
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)
    assert code == 0, out + err
    assert "webhookUrl: unknown (HOOK not set)" in out
    # the plan file keeps what it could not resolve, and reads it back
    (change,) = planfile.load(directory / "plan.json")[0].changes
    assert change.unresolved == ("HOOK",)
    hook = "https://hooks.slack.com/services/T0/B0/s3cr3t"
    code, out, err = run("apply", "plan.json", cwd=directory, env={**env, "HOOK": hook})
    assert code == 4, out + err
    assert "Guardrail/Hooked: the plan could not resolve HOOK; set it and plan again" in err
    assert "s3cr3t" not in out + err
    assert sandbox_org.writes() == 0


# --- apply's order and adoption ------------------------------------------------------------


def test_deletes_run_after_creates_and_updates(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    """Creates and updates of every kind first (kinds in registry order), deletes last (kinds in
    reverse order): a delete never runs while something it may stand for is not written yet."""
    before = docs(
        policy("P old"),
        policy("P changed"),
        policy("P kept"),
        guardrail("G old"),
        guardrail("G changed"),
        guardrail("G kept"),
    )
    directory = write(tmp_path / "d", before)
    assert apply_dir(directory, sandbox_org)[0] == 0
    after = docs(
        "kind: TaggingPolicy\nname: P old\nabsent: true\n",
        policy("P changed", "now with a message"),
        policy("P kept"),
        policy("P new"),
        "kind: Guardrail\nname: G old\nabsent: true\n",
        guardrail("G changed", 5),
        guardrail("G kept"),
        guardrail("G new"),
    )
    write(directory, after)
    code, out, err = apply_dir(directory, sandbox_org, "--format", "json")
    assert code == 0, out + err
    events = [json.loads(line) for line in out.splitlines()][:-1]  # the summary is last
    phase = {
        ("TaggingPolicy", "created"): 0,
        ("TaggingPolicy", "updated"): 0,
        ("Guardrail", "created"): 1,
        ("Guardrail", "updated"): 1,
        ("Guardrail", "deleted"): 2,
        ("TaggingPolicy", "deleted"): 3,
    }
    phases = [phase[(e["kind"], e["event"])] for e in events]
    assert len(events) == 6
    assert phases == sorted(phases) and set(phases) == {0, 1, 2, 3}, events
    assert sorted(live(sandbox_org, "guardrails")) == ["G changed", "G kept", "G new"]


def test_a_lost_create_answer_never_adopts_an_object_that_differs_from_what_was_sent(
    tmp_path: Path, sandbox_org: SandboxOrg, client: ApiClient
) -> None:
    """After a create's answer is lost, only a new object equal to what was sent is adopted: one
    made meanwhile by someone else, with the same name and all but one attribute, never is."""
    directory = write(tmp_path / "d", guardrail("G", 100, "message: ours\n"))
    prepared = prepare(directory, flag_org=sandbox_org.org, flag_api=sandbox_org.base_url, env={})
    found = fetch_live(client)
    known = {kind: {o.id for o in objects} for kind, objects in found.items()}
    plan = make_plan(
        prepared,
        found,
        Options(),
        org=sandbox_org.org,
        api=sandbox_org.base_url,
        baseline=None,
        display_dir=".",
    )
    theirs = sandbox_org.guardrail("G", scope="PROJECT", totalThreshold=999, message="ours")

    def apply_once() -> Event:
        (event,) = Executor(client, env={}, parallelism=1, known_ids=known).run(plan).events
        return event

    sandbox_org.set_faults("script=503")  # refused before anything was written
    event = apply_once()
    assert event.outcome == "failed", event
    assert theirs["id"] not in (event.ref.id or "")
    sandbox_org.set_faults("script=drop")  # written, the answer lost: theirs is still not ours
    event = apply_once()
    assert event.ref.id != theirs["id"], event
    sandbox_org.reset()
    objects = sandbox_org.request("GET", "guardrails").json()["data"]
    by_id = {o["id"]: o["attributes"] for o in objects}
    assert len(by_id) == 2 and theirs["id"] in by_id  # ours, once, and theirs
    assert by_id[theirs["id"]]["totalThreshold"] == 999  # never touched


def test_a_post_is_never_resent_once_its_request_was_sent(
    tmp_path: Path, sandbox_org: SandboxOrg, client: ApiClient
) -> None:
    """The connection closes after the POST was written and before its answer: sending it again
    would create a second object; the one write is found by listing instead."""
    directory = write(tmp_path / "d", guardrail("Once"))
    prepared = prepare(directory, flag_org=sandbox_org.org, flag_api=sandbox_org.base_url, env={})
    found = fetch_live(client)
    plan = make_plan(
        prepared,
        found,
        Options(),
        org=sandbox_org.org,
        api=sandbox_org.base_url,
        baseline=None,
        display_dir=".",
    )
    sandbox_org.set_faults("script=drop,ok,ok,ok")
    known = {kind: {o.id for o in objects} for kind, objects in found.items()}
    result = Executor(client, env={}, parallelism=1, known_ids=known).run(plan)
    sandbox_org.reset()
    assert [e.outcome for e in result.events] == ["adopted"], result.events
    assert sandbox_org.writes() == 1
    assert list(live(sandbox_org, "guardrails")) == ["Once"]


@contextmanager
def tls_server_that_breaks_after_reading(cert: Path, key: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS server on 127.0.0.1 that reads each request whole, then answers with bytes that
    are not TLS: the client's error comes once its request was sent (urllib3 calls it neither
    a connection nor a read error, and would resend any method). Yields (URL, methods seen)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[str] = []

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return  # closed: the test is over
            with raw:
                try:
                    tls = context.wrap_socket(raw, server_side=True)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += tls.recv(65_536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                    while length and len(body) < int(length.group(1)):
                        body += tls.recv(65_536)
                    seen.append(head.split(b" ", 1)[0].decode())
                    socket.socket.sendall(tls, b"HTTP/1.1 201 Created\r\n\r\n" * 20)  # raw
                    socket.socket.shutdown(tls, socket.SHUT_RDWR)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way (close does not)
        listener.close()
        thread.join(timeout=10)


def test_a_post_is_never_resent_after_a_tls_error_once_its_request_was_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    settings = TransportSettings(
        connect_timeout=2, read_timeout=5, retries=2, backoff_factor=0, backoff_jitter=0
    )
    with (
        tls_server_that_breaks_after_reading(cert, key) as (url, seen),
        Transport(url, settings, None) as transport,
    ):
        with pytest.raises(NoAnswer):
            transport.send("GET", f"{url}/x")
        assert seen == ["GET"] * 3  # the server's answer does make the client try again
        seen.clear()
        with pytest.raises(NoAnswer) as caught:
            transport.send("POST", f"{url}/x", json={"name": "g"})
        assert seen == ["POST"]  # ...but never a POST: it may have been processed
        assert caught.value.maybe_processed
        assert "TLS error" in str(caught.value)


# --- the deletion guards -------------------------------------------------------------------


def test_allow_mass_delete_never_overrides_protect(tmp_path: Path, sandbox_org: SandboxOrg) -> None:
    directory = write(tmp_path / "d", guardrail("Crown jewels"))
    assert apply_dir(directory, sandbox_org)[0] == 0
    jewels = live(sandbox_org, "guardrails")["Crown jewels"]
    write(
        directory,
        docs(
            guardrail("Crown jewels", extra="protect: true\n"),
            f"kind: Guardrail\nname: Cleanup\nid: {jewels['id']}\nabsent: true\n",
        ),
    )
    writes = sandbox_org.writes()
    code, out, err = apply_dir(directory, sandbox_org, "--allow-mass-delete", "--prune")
    assert code == 1, out + err
    assert "Keep Guardrail/Crown jewels declared, or remove its protect: true first" in out
    assert sandbox_org.writes() == writes
    assert list(live(sandbox_org, "guardrails")) == ["Crown jewels"]


def _live(*names: str) -> dict[str, list[LiveObject]]:
    return {
        "Guardrail": [
            LiveObject(
                f"dddddddd-0000-4000-8000-{i:012d}",
                {"name": n, "scope": "PROJECT", "totalThreshold": 1},
            )
            for i, n in enumerate(names)
        ]
    }


def test_a_plan_deleting_exactly_prune_limit_objects_is_allowed(tmp_path: Path) -> None:
    write(tmp_path, guardrail("Kept", 1))
    state = read_desired(tmp_path)
    assert not state.errors

    def errors(limit: int, *names: str) -> tuple[int, tuple[str, ...]]:
        plan = build_plan(
            state.resources,
            _live("Kept", *names),
            Options(prune=True, prune_limit=limit),
            org="acme",
            api="sandbox",
            directory=".",
        )
        return plan.count("delete"), plan.errors

    assert errors(2, "X1", "X2") == (2, ())  # the boundary: as many as the limit
    assert errors(2, "X1", "X2", "X3") == (
        3,
        (
            "Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete), or "
            "raise pruneLimit, if you mean it: the plan deletes 3 objects, more than "
            "pruneLimit (2)",
        ),
    )
    assert errors(0, "X1")[1] != ()
    assert errors(0) == (0, ())


def test_protect_is_false_unless_declared(tmp_path: Path) -> None:
    write(tmp_path, docs(guardrail("Plain", 1), guardrail("Guarded", 1, "protect: true\n")))
    state = read_desired(tmp_path)
    assert not state.errors
    assert {r.name: r.protect for r in state.resources} == {"Plain": False, "Guarded": True}
    # an object declared without protect may be deleted (here by a pin to its id)
    write(
        tmp_path,
        docs(
            guardrail("Plain", 1),
            "kind: Guardrail\nname: Cleanup\nid: dddddddd-0000-4000-8000-000000000000\n"
            "absent: true\n",
        ),
    )
    state = read_desired(tmp_path)
    plan = build_plan(
        state.resources, _live("Plain", "Other"), Options(), org="a", api="sandbox", directory="."
    )
    assert plan.count("delete") == 1 and plan.errors == ()


# --- plan files ----------------------------------------------------------------------------


def _resealed(body: dict[str, Any], **changes: Any) -> str:
    """The plan file with these top-level changes and a checksum that matches them."""
    body = {k: v for k, v in body.items() if k != "checksum"} | changes
    body["checksum"] = planfile._checksum(body)
    return json.dumps(body)


def test_a_plan_file_without_its_checksum_or_of_another_version_is_refused(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = write(tmp_path / "d", guardrail("G"))
    flags, env = against(sandbox_org)
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)[0] == 0
    body = json.loads((directory / "plan.json").read_text())
    unsealed = {k: v for k, v in body.items() if k != "checksum"}
    variants = {
        "no checksum": (json.dumps(unsealed), "has no checksum"),
        "checksum null": (json.dumps(unsealed | {"checksum": None}), "checksum does not match"),
        "older version": (_resealed(body, formatVersion=0), "plan format version 0 is not"),
        "newer version": (_resealed(body, formatVersion=2), "plan format version 2 is not"),
        "version true": (_resealed(body, formatVersion=True), "plan format version true is"),
        "version 1.0": (_resealed(body, formatVersion=1.0), "plan format version 1.0 is"),
        "version '1'": (_resealed(body, formatVersion="1"), 'plan format version "1" is'),
    }
    for name, (text, says) in variants.items():
        (directory / "edited.json").write_text(text)
        with pytest.raises(InputError, match=says):
            planfile.load(directory / "edited.json")
        for command in ("apply", "show"):
            code, out, err = run(command, "edited.json", cwd=directory, env=env)
            assert code == 1, (name, command, out + err)
            assert err.startswith("Error: ") and "edited.json: " in err, (name, err)
            assert says in err, (name, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (name, err)
    assert sandbox_org.writes() == 0
    assert planfile.load(directory / "plan.json")[0].count("create") == 1  # the original is fine


def test_a_plan_file_that_apply_could_not_perform_is_refused(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """Sealed again by hand, so the checksum matches: a kind or action apply does not know, an
    update without an id, a change with no list of its unresolved secrets."""
    directory = write(tmp_path / "d", guardrail("G"))
    flags, env = against(sandbox_org)
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)[0] == 0
    body = json.loads((directory / "plan.json").read_text())
    (change,) = body["plan"]["changes"]
    variants: dict[str, tuple[dict[str, Any] | str, str]] = {
        "kind": (change | {"kind": "Budget"}, "'Budget/G': unknown kind"),
        "action": (change | {"action": "destroy"}, "unknown action 'destroy'"),
        "update without id": (change | {"action": "update"}, "update without an id"),
        "no unresolved": (
            {k: v for k, v in change.items() if k != "unresolved"},
            "no list of unresolved secrets",
        ),
        "not an object": ("G", "malformed plan (AttributeError"),
    }
    for name, (edited, says) in variants.items():
        plan = body["plan"] | {"changes": [edited]}
        (directory / "edited.json").write_text(_resealed(body, plan=plan))
        code, out, err = run("apply", "edited.json", cwd=directory, env=env)
        assert code == 1, (name, out + err)
        assert "edited.json: malformed plan" in err and says in err, (name, err)
        assert len(err.strip().splitlines()) == 1, (name, err)
    assert sandbox_org.writes() == 0


# --- API URLs ------------------------------------------------------------------------------


def test_only_this_machine_is_loopback() -> None:
    for host in ("localhost", "LOCALHOST", "127.0.0.1", "127.8.9.10", "::1"):
        assert is_loopback(host), host
    for host in (
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "evil.example",
        "localhost.",
        "10.0.0.1",
        "0.0.0.0",
        "",
    ):
        assert not is_loopback(host), host
    for url in ("http://localhost.evil.example/v1", "http://127.0.0.1.nip.io:8787/v1"):
        with pytest.raises(ConfigError, match="uses plain http"):
            check_api_url(url, "--api")
    assert check_api_url("http://localhost:8787/v1", "--api") == "http://localhost:8787/v1"
    assert check_api_url("http://[::1]:8787/v1", "--api") == "http://[::1]:8787/v1"


@pytest.mark.parametrize(
    "url",
    [
        f"https://{TOKEN}@api.example.com/v1",
        f"https://user:{TOKEN}@api.example.com/v1",
        f"https://{TOKEN}:@api.example.com/v1",
        f"ftp://{TOKEN}@api.example.com/v1",  # another scheme: refused without repeating it
        f"https://{TOKEN}@/v1",  # no host
        f"https://{TOKEN}@[::1/v1",  # unparseable
        f"{TOKEN}@api.example.com/v1",  # no scheme
        f"https://{TOKEN}\\@evil.example/v1",  # a backslash, read as a slash by some
    ],
)
def test_a_url_with_credentials_is_refused_and_never_shown(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_url(url, "api", origin="--api")
    assert str(caught.value) == "api (from --api) must not carry credentials (a user or password)"
    assert TOKEN not in shown_url(url)


def test_shown_url_hides_only_credentials() -> None:
    assert shown_url("https://u:p@h:1/v1?q=@x#@y") == "https://***@h:1/v1?q=@x#@y"
    assert shown_url("https://h/v1@x") == "https://h/v1@x"
    assert shown_url("not a url") == "not a url"
    assert shown_url("sandbox") == "sandbox"


def test_other_odd_urls_are_refused() -> None:
    for url, says in [
        ("http://local\thost:8787/v1", "spaces, control characters or a backslash"),
        ("https://api.infracost.io\\.evil.example/v1", "spaces, control characters"),
        ("https://api.example.com/v 1", "spaces, control characters"),
        ("not a url", "is not an http(s) URL"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            check_url(url, "api")


@pytest.mark.parametrize("source", ["--api", "INFRACOST_API_URL", "reconciler.yaml"])
def test_an_api_url_carrying_a_token_is_refused_and_never_shown_or_saved(
    tmp_path: Path, sandbox_org: SandboxOrg, source: str
) -> None:
    """The sandbox's own URL with a token as its user part: were it accepted, the plan would
    work and keep the URL in its file, the snapshot too."""
    url = sandbox_org.base_url.replace("://", f"://{TOKEN}@")
    config = f"org: {sandbox_org.org}\n"
    if source == "reconciler.yaml":
        config += f"api: {url}\n"
    directory = write(tmp_path / "d", guardrail("G"), config)
    args = ["--api", url] if source == "--api" else []
    env = {"INFRACOST_SERVICE_TOKEN": sandbox_org.token}
    if source == "INFRACOST_API_URL":
        env["INFRACOST_API_URL"] = url
    for command in (["plan", ".", "-o", "plan.json"], ["snapshot", "-o", "live.json"]):
        code, out, err = run(*command, *args, cwd=directory, env=env)
        assert code == 1, (command, out + err)
        assert "must not carry credentials" in err, err
        assert TOKEN not in out + err and "Traceback" not in err
    assert sorted(p.name for p in directory.iterdir()) == ["desired.yaml", "reconciler.yaml"]
    assert sandbox_org.writes() == 0


def test_a_token_in_an_api_url_that_contradicts_the_config_is_never_shown(tmp_path: Path) -> None:
    directory = write(tmp_path / "d", guardrail("G"))  # api: sandbox
    url = f"https://{TOKEN}@api.example.com/v1"
    code, out, err = run("plan", ".", cwd=directory, env={"INFRACOST_API_URL": url})
    assert code == 1 and "pass --api to choose one" in err, out + err
    assert 'INFRACOST_API_URL="https://***@api.example.com/v1"' in err
    assert TOKEN not in out + err


def test_a_token_in_the_api_url_given_to_apply_a_plan_file_is_never_shown(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = write(tmp_path / "d", guardrail("G"))
    flags, env = against(sandbox_org)
    assert run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)[0] == 0
    url = f"https://{TOKEN}@api.example.com/v1"
    for args, extra in ((["--api", url], {}), ([], {"INFRACOST_API_URL": url})):
        code, out, err = run("apply", "plan.json", *args, cwd=directory, env={**env, **extra})
        assert code == 1, out + err
        assert TOKEN not in out + err
    assert sandbox_org.writes() == 0

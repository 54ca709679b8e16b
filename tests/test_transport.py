"""What the one HTTP transport guarantees to every client (Infracost, GitHub, and later ones),
against real HTTP servers on 127.0.0.1. Nothing is mocked; waits go through an injected sleep,
so no test waits for real and none asserts an upper bound on wall-clock time."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from requests.auth import HTTPBasicAuth

from reconciler import secrets
from reconciler.errors import ConfigError
from reconciler.http.transport import (
    Answer,
    BearerAuth,
    HttpError,
    NoAnswer,
    RetryPolicy,
    Transport,
    TransportSettings,
    Wait,
)
from reconciler.settings import Secret, check_url
from tests.helpers.local_http import DROP, HANG, Reply, Seen, reply, serve

TOKEN = "ghs_Transport0Secret0Token0123456789abcdef"
FAST = TransportSettings(
    connect_timeout=2.0,
    read_timeout=5.0,
    retries=3,
    backoff_factor=0.01,
    backoff_max=0.05,
    backoff_jitter=0.0,
    retry_after_max=30.0,
)


# --- a scripted server ---------------------------------------------------------------------


@dataclass
class Script:
    """Answers in order (the last one again when they run out); every request is recorded."""

    replies: list[Reply | str | Callable[[Seen], Reply]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def next(self, seen: Seen) -> Reply | str:
        self.seen.append(seen)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(seen) if callable(reply) else reply


@contextmanager
def serving(*replies: Reply | str | Callable[[Seen], Reply]) -> Iterator[Script]:
    script = Script(list(replies))
    with serve(script.next) as url:
        script.url = url
        yield script


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def transport(
    url: str,
    settings: TransportSettings = FAST,
    *,
    sleeps: Sleeps | None = None,
    token: str | None = TOKEN,
    **kw: Any,
) -> Transport:
    t = Transport(
        url,
        settings,
        kw.pop("auth", BearerAuth(Secret(token) if token else None)),
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=lambda: 1_000_000.0,
        **kw,
    )
    t.session.trust_env = False  # 127.0.0.1 only, whatever the proxy settings
    return t


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])  # closed again: nothing listens there


# --- Retry-After, honoured and capped ------------------------------------------------------


def test_retry_after_is_honoured() -> None:
    sleeps = Sleeps()
    with (
        serving(reply(503, Retry_After="7"), reply(429, Retry_After="2"), reply(200)) as s,
        transport(s.url, sleeps=sleeps) as t,
    ):
        assert t.send("GET", f"{s.url}/x").status_code == 200
        assert t.request_count == 3
    assert sleeps == [7.0, 2.0]


def test_retry_after_as_an_http_date_uses_the_clock() -> None:
    sleeps = Sleeps()
    date = "Mon, 12 Jan 1970 13:47:10 GMT"  # 1,000,030: 30 s after the injected clock
    with (
        serving(reply(503, Retry_After=date), reply(200)) as s,
        transport(s.url, sleeps=sleeps) as t,
    ):
        assert t.send("GET", f"{s.url}/x").status_code == 200
    assert sleeps == [30.0]


def test_a_long_retry_after_is_cut_to_the_cap() -> None:
    sleeps = Sleeps()
    settings = replace(FAST, retry_after_max=0.5)
    with (
        serving(reply(429, Retry_After="3600"), reply(200)) as s,
        transport(s.url, settings, sleeps=sleeps) as t,
    ):
        assert t.send("POST", f"{s.url}/x").status_code == 200  # a refusal: resent
    assert sleeps == [0.5]


def test_an_unusable_retry_after_falls_back_to_the_backoff() -> None:
    sleeps = Sleeps()
    with (
        serving(reply(503, Retry_After="soon"), reply(503), reply(200)) as s,
        transport(s.url, sleeps=sleeps) as t,
    ):
        assert t.send("GET", f"{s.url}/x").status_code == 200
    assert sleeps == [0.0, 0.02]  # urllib3's backoff: 0, then 2 x backoff_factor


def test_a_wait_over_wait_max_is_an_error_that_names_it() -> None:
    sleeps = Sleeps()
    settings = replace(FAST, retry_after_max=float("inf"), wait_max=60.0)
    body = {"message": "slow down"}
    with serving(reply(429, body, Retry_After="3600")) as s:
        with transport(s.url, settings, sleeps=sleeps) as t, pytest.raises(HttpError) as caught:
            t.send("GET", f"{s.url}/x")
        assert len(s.seen) == 1
    assert sleeps == []
    assert str(caught.value) == (
        "GET /x: 429 Too Many Requests: slow down (the server asks to wait 3,600 s, longer "
        "than this command waits (60 s); run it again later)"
    )


def test_the_waits_of_one_call_are_capped_together() -> None:
    sleeps = Sleeps()
    settings = replace(FAST, retries=5, total_wait_max=10.0)
    with serving(reply(503, Retry_After="4")) as s:
        with transport(s.url, settings, sleeps=sleeps) as t, pytest.raises(HttpError) as caught:
            t.send("GET", f"{s.url}/x")
        assert len(s.seen) == 3
    assert sleeps == [4.0, 4.0]  # a third wait would pass 10 s in all
    assert "(10 s in all)" in str(caught.value)


def test_retries_run_out_with_the_last_answer() -> None:
    sleeps = Sleeps()
    with serving(reply(502, b"bad gateway")) as s, transport(s.url, sleeps=sleeps) as t:
        response = t.send("GET", f"{s.url}/x")
        assert response.status_code == 502 and t.describe(response) == "bad gateway"
        assert len(s.seen) == 1 + FAST.retries == t.request_count
    assert len(sleeps) == FAST.retries


# --- a POST is never resent once it may have been processed --------------------------------


def test_a_post_answered_with_a_5xx_is_not_resent() -> None:
    with serving(reply(503), reply(201)) as s, transport(s.url) as t:
        assert t.send("POST", f"{s.url}/x", json={}).status_code == 503
        assert [r.method for r in s.seen] == ["POST"]


@pytest.mark.parametrize("fault", [DROP, HANG])
def test_a_post_that_got_no_answer_is_not_resent(fault: str) -> None:
    settings = replace(FAST, read_timeout=0.3)
    with serving(fault, reply(201)) as s, transport(s.url, settings) as t:
        with pytest.raises(NoAnswer) as caught:
            t.send("POST", f"{s.url}/x", json={"name": "g"})
        assert caught.value.maybe_processed
        assert [r.method for r in s.seen] == ["POST"] and t.request_count == 1
    says = {DROP: "the connection closed before an answer came", HANG: "no answer within 0.3 s"}
    assert says[fault] in str(caught.value)


@pytest.mark.parametrize("fault", [DROP, HANG])
def test_a_get_that_got_no_answer_is_retried(fault: str) -> None:
    settings = replace(FAST, read_timeout=0.3)
    with serving(fault, reply(200, {"ok": True})) as s, transport(s.url, settings) as t:
        assert t.send("GET", f"{s.url}/x").json() == {"ok": True}
        assert len(s.seen) == 2


def test_a_post_refused_with_429_is_resent() -> None:
    with serving(reply(429), reply(201)) as s, transport(s.url) as t:
        assert t.send("POST", f"{s.url}/x", json={}).status_code == 201
        assert [r.method for r in s.seen] == ["POST", "POST"]


def test_a_post_whose_connection_never_opened_is_resent() -> None:
    port = closed_port()
    with transport(f"http://127.0.0.1:{port}") as t, pytest.raises(NoAnswer) as caught:
        t.send("POST", f"http://127.0.0.1:{port}/x", json={})
    assert not caught.value.maybe_processed
    assert t.request_count == 1 + FAST.connect_retries  # refused: given up sooner
    assert str(caught.value) == f"POST /x: cannot connect to 127.0.0.1:{port}: connection refused"


def test_redirects_come_back_unfollowed() -> None:
    with serving(reply(302, Location="/elsewhere")) as s, transport(s.url) as t:
        response = t.send("GET", f"{s.url}/x")
        assert response.status_code == 302 and [r.path for r in s.seen] == ["/x"]


# --- secrets never show --------------------------------------------------------------------


def _echo(seen: Seen) -> Reply:
    """An error page that repeats the credential, in upper case, across the 500-character cut."""
    auth = seen.headers["Authorization"].upper()
    body = "x" * 480 + f" {auth} " + "y" * 600 + f" {auth.lower()}"
    return 400, {"Content-Type": "text/plain"}, body.encode()


def _assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        for start in range(len(secret) - 5):  # no piece of it either
            assert secret[start : start + 6].lower() not in text.lower(), text


def test_an_echoed_token_never_shows_in_any_case_nor_cut() -> None:
    with serving(_echo) as s, transport(s.url) as t:
        text = t.describe(t.send("GET", f"{s.url}/x"))
    assert text.startswith("x" * 480 + " BEARER *** ")
    assert len(text) == 500 and text.endswith("…")
    _assert_hidden(text, TOKEN)


def test_a_token_escaped_in_json_never_shows() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in TOKEN)
    body = f'{{"message": "bad token {escaped}", "errors": [{{"message": "{TOKEN}"}}]}}'
    with (
        serving(reply(401, body.encode(), Content_Type="application/json")) as s,
        transport(s.url) as t,
    ):
        text = t.describe(t.send("GET", f"{s.url}/x"))
    assert text == "bad token ***: ***"


def test_basic_auth_never_shows_neither_the_password_nor_its_encoding() -> None:
    password = "Service-Now-Password-42"
    auth = HTTPBasicAuth("integration", password)
    with (
        serving(_echo, reply(400, f"refused: {password}".encode())) as s,
        transport(s.url, auth=auth) as t,
    ):
        echoed = t.describe(t.send("GET", f"{s.url}/x"))
        said = t.describe(t.send("GET", f"{s.url}/y"))
    assert "BASIC *** " in echoed and said == "refused: ***"
    _assert_hidden(echoed + said, password, "aW50ZWdyYXRpb246U2VydmljZS1Ob3ctUGFzc3dvcmQtNDI=")


def test_secrets_a_client_adds_are_scrubbed_from_no_answer_errors_too() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/blob?sig=SignedSecret123"
    with transport(url, secrets=["sig=SignedSecret123"]) as t, pytest.raises(NoAnswer) as caught:
        t.send("GET", url)
    assert caught.value.path == "/blob?***"
    _assert_hidden(str(caught.value), "SignedSecret123")


def test_every_secret_of_the_run_is_scrubbed_even_one_this_transport_never_sent() -> None:
    """A webhook URL resolved for apply, a ServiceNow password: known to the run, so scrubbed
    from this client's errors too, in any case, before the cut; and this transport's token is
    made known to the run, for the messages that do not go through it."""
    webhook = "https://hooks.slack.com/services/T0RUN/B0RUN/0123456789abcdef"
    secrets.forget()
    try:
        secrets.register(webhook, "Service-Now-Password-42")
        echoed = "z" * 490 + f" {webhook.upper()} and service-now-password-42"
        with serving(reply(400, echoed.encode())) as s, transport(s.url) as t:
            text = t.describe(t.send("GET", f"{s.url}/x"))
            assert secrets.scrub(f"Bearer {TOKEN.upper()}") == "Bearer ***"
        assert text.startswith("z" * 490 + " ***")
        _assert_hidden(text, webhook, "Service-Now-Password-42")
    finally:
        secrets.forget()


def test_no_credential_sends_no_authorization_and_never_netrc(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with serving(reply(200)) as s, transport(s.url, token=None) as t:
        t.session.trust_env = True
        t.send("GET", f"{s.url}/x")
        with transport(s.url) as t, t.derive(s.url) as plain:
            plain.session.trust_env = True
            plain.send("GET", f"{s.url}/y")
    assert ["Authorization" in r.headers for r in s.seen] == [False, False]


# --- the server's message ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            {"errors": [{"detail": "must be one", "source": {"pointer": "/data/a"}}, "odd"]},
            "application/vnd.api+json",
            "/data/a: must be one; odd",
        ),
        ({"error": {"message": "taken"}, "error_code": "conflict"}, "", "taken (conflict)"),
        (
            {"message": "Validation Failed", "errors": [{"message": "body is too long"}]},
            "application/json",
            "Validation Failed: body is too long",
        ),
        (
            {"message": "Validation Failed", "errors": [{"code": "already_exists"}]},
            "",
            "Validation Failed",
        ),
        (b"Bad Request:  plain\n text ", "text/plain", "plain text"),
        (b"<html><body>Sign in</body></html>", "text/html", "an HTML page, not an API answer"),
        (b"", "", ""),
    ],
)
def test_the_servers_message_from_every_shape_of_body(
    body: Any, content_type: str, message: str
) -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    with serving(reply(400, payload, Content_Type=content_type)) as s, transport(s.url) as t:
        assert t.describe(t.send("GET", f"{s.url}/x")).startswith(message)


# --- a client's own retry rules ------------------------------------------------------------


class SlowDown(RetryPolicy):
    """Like GitHub's rules: a 403 is retried only when its body says so."""

    refusals = frozenset({403, 429})

    def wait(self, answer: Answer) -> Wait | None:
        if answer.status == 403:
            return Wait(at_least=5.0) if "slow down" in answer.text() else None
        return super().wait(answer)


def test_a_policy_may_read_the_body_and_the_client_still_gets_it() -> None:
    sleeps = Sleeps()
    refused = gzip.compress(b'{"message": "Resource not accessible"}')
    zipped = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with (
        serving(reply(403, b"slow down"), (403, zipped, refused)) as s,
        transport(s.url, sleeps=sleeps, policy=SlowDown(FAST)) as t,
    ):
        response = t.send("POST", f"{s.url}/x", json={})
        assert len(s.seen) == 2
    assert sleeps == [5.0]
    assert response.status_code == 403 and response.json() == {"message": "Resource not accessible"}


def test_the_body_a_policy_read_comes_back_when_the_retries_run_out() -> None:
    with (
        serving(reply(403, b"slow down, please")) as s,
        transport(s.url, replace(FAST, retries=1), policy=SlowDown(FAST)) as t,
    ):
        response = t.send("GET", f"{s.url}/x")
        assert len(s.seen) == 2
    assert response.status_code == 403 and response.text == "slow down, please"


# --- URLs and pages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://api.example.com/v1", "uses plain http"),
        ("http://10.0.0.1", "uses plain http"),
        ("ftp://127.0.0.1/x", r"is not an http\(s\) URL"),
        ("https://", r"is not an http\(s\) URL"),
        ("http://[::1", r"is not an http\(s\) URL"),
        ("https://user:hunter2@api.example.com", "must not carry credentials"),
    ],
)
def test_unsafe_urls_are_refused(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        Transport(url, FAST, None, what="the test URL")
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("the test URL")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1/",
        "http://127.0.0.1:8080",
        "http://127.5.0.1",
        "http://[::1]:1",
        "http://localhost",
    ],
)
def test_safe_urls_are_accepted(url: str) -> None:
    assert check_url(url, "x") == url.rstrip("/")
    Transport(url, FAST, None).close()  # nothing is contacted


def _pages(t: Transport, links: Mapping[str, str | None]) -> list[str]:
    def read(url: str) -> tuple[list[str], str | None]:
        return [url], links[url]

    return list(t.pages(f"{t.base_url}/1", read, label="links.next"))


def test_pages_follow_relative_and_absolute_links() -> None:
    with transport("http://127.0.0.1:1/api") as t:
        base = t.base_url
        links = {f"{base}/1": "2", f"{base}/2": f"{base}/3", f"{base}/3": None}
        assert _pages(t, links) == [f"{base}/1", f"{base}/2", f"{base}/3"]


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("https://127.0.0.1:1/api/2", "links.next points to another host"),
        ("http://127.0.0.2:1/api/2", "links.next points to another host"),
        ("1", "links.next loops to a page seen"),
    ],
)
def test_pages_stay_on_the_host_and_never_loop(link: str, says: str) -> None:
    with transport("http://127.0.0.1:1/api") as t, pytest.raises(HttpError, match=says):
        _pages(t, {f"{t.base_url}/1": link})


def test_pages_are_capped() -> None:
    with transport("http://127.0.0.1:1/api", replace(FAST, max_pages=3)) as t:
        links = {f"{t.base_url}/{i}": str(i + 1) for i in range(1, 10)}
        with pytest.raises(HttpError, match=r"more than 3 pages of links\.next; stopped"):
            _pages(t, links)


def test_settings_are_checked() -> None:
    for bad in ({"retries": -1}, {"max_pages": 0}, {"read_timeout": float("nan")}):
        with pytest.raises(ValueError, match="invalid client settings"):
            TransportSettings(**bad)

"""No secret in any message (issue 13, item 2): the token, every resolved ``fromEnv`` value and
the ServiceNow credentials are scrubbed from the output, the event log, plan files, snapshots
and the apply report on the merged pull request, in any letter case, before any cut.

The end-to-end test runs against the sandbox behind an echoing proxy on 127.0.0.1: reads pass
through, and while ``echo`` is on every write is refused with a 400 whose message repeats the
request, as careless servers do: the webhook URL as sent and upper-cased, then the token across
the 500th character of the message.
"""

from __future__ import annotations

import json
import secrets as random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reconciler import secrets
from tests.helpers.cli import run
from tests.helpers.fakegithub import FakeGitHub
from tests.helpers.fakegithub import serve as serve_github
from tests.helpers.local_http import Reply, Seen, serve
from tests.helpers.sandbox import SandboxOrg, ServiceNowServer, local_session

TAIL = random.token_hex(12)
WEBHOOK = f"https://hooks.slack.com/services/T0SECRET/B0SECRET/{TAIL}"
GUARDRAIL = """\
kind: Guardrail
name: Hooked
scope: PROJECT
totalThreshold: 100
webhookUrl: {fromEnv: HOOK_URL}
"""


@pytest.fixture(autouse=True)
def fresh_run() -> Iterator[None]:
    """Each test starts as a new process would, with no secret known yet."""
    secrets.forget()
    yield
    secrets.forget()


def assert_no_piece(text: str, secret: str, label: str) -> None:
    """Neither the secret nor any 8 characters of it, in any case."""
    lower = text.lower()
    for start in range(len(secret) - 7):
        piece = secret[start : start + 8].lower()
        assert piece not in lower, f"{label}: {piece!r} of a secret in {text!r}"


# --- the pure parts --------------------------------------------------------------------------


def test_scrub_takes_every_form_in_any_case_longest_first() -> None:
    known = secrets.Secrets()
    known.add("https://hooks.example/a/b?x=1", "hooks.example/a", "on", None, "")
    text = (
        'sent {"url": "https:\\/\\/hooks.example\\/a\\/b?x=1"} '
        "HTTPS://HOOKS.EXAMPLE/A/B?X=1 https%3A%2F%2Fhooks.example%2Fa%2Fb%3Fx%3D1 "
        "see hooks.example/a, left on"
    )
    assert known.scrub(text) == 'sent {"url": "***"} *** *** see ***, left on'
    assert len(known) > 0 and "hooks" not in repr(known)


def test_scrub_data_reaches_every_string_and_forget_empties() -> None:
    secrets.register("s3cr3t-value")
    data = {"detail": "x S3CR3T-VALUE y", "warnings": ["s3cr3t-value"], "seconds": 1.5}
    assert secrets.scrub_data(data) == {"detail": "x *** y", "warnings": ["***"], "seconds": 1.5}
    secrets.forget()
    assert secrets.scrub("s3cr3t-value") == "s3cr3t-value"


def test_the_token_is_known_once_the_settings_are_resolved(tmp_path: Path) -> None:
    from reconciler.settings import resolve

    token = "ics_" + random.token_hex(24)
    env = {"INFRACOST_SERVICE_TOKEN": token}
    resolve(tmp_path, flag_org="o", flag_api=None, env=env, config=None, config_file=None)
    assert secrets.scrub(f"echoed {token.upper()}") == "echoed ***"


def test_events_are_scrubbed_in_text_json_and_the_summary() -> None:
    from reconciler.apply import Event, Result
    from reconciler.model import Ref
    from reconciler.render import events

    secrets.register(WEBHOOK)
    failed = Event(
        "failed",
        Ref("Guardrail", "Hooked"),
        f"POST /guardrails: 400 Bad Request: you sent {WEBHOOK.upper()}",
        warnings=(f"webhookUrl {WEBHOOK} reads back differently",),
    )
    result = Result([failed])
    text = "\n".join(
        [events.event(failed, "text"), events.event(failed, "json"), events.summary(result, "text")]
    )
    assert text.count("***") == 5
    assert_no_piece(text, TAIL, "events")


def test_scrub_comes_before_the_cut_in_the_apply_report() -> None:
    from reconciler.render import github as render
    from reconciler.render.markdown import MAX_CHARS

    secrets.register(WEBHOOK)
    detail = "x" * (MAX_CHARS - len(WEBHOOK) + 8) + WEBHOOK.upper()  # across the cut
    report = render.apply_report(
        [{"event": "failed", "kind": "Guardrail", "name": "g", "detail": detail}],
        exit_code=1,
        directory="d",
        org="o",
        commit="c",
        run_url="",
    )
    assert_no_piece(report, TAIL, "apply report")


# --- end to end against the sandbox ----------------------------------------------------------


class Proxy:
    url = ""
    echo = True  # refuse every write with a 400 that repeats the request


@contextmanager
def echoing(upstream: str) -> Iterator[Proxy]:
    """A proxy to ``upstream`` that, while ``echo`` is on, answers every write with a 400
    repeating the webhook URL it sent (as sent and upper-cased), then from the 481st character
    of the message its Authorization header, then its whole body (as sent and upper-cased)."""
    proxy = Proxy()
    session = local_session()

    def answer(seen: Seen) -> Reply:
        if proxy.echo and seen.method != "GET":
            sent = seen.body.decode()
            url = str(json.loads(sent)["data"]["attributes"].get("webhookUrl"))
            said = f"webhookUrl {url} ({url.upper()}) refused; ".ljust(480, ".")
            said += f"{seen.headers.get('Authorization')} was your token"
            errors = [{"detail": said}, {"detail": f"you sent {sent} ({sent.upper()})"}]
            body = json.dumps({"errors": errors}).encode()
            return 400, {"Content-Type": "application/vnd.api+json"}, body
        keep = ("Authorization", "Content-Type", "Accept")
        got = session.request(
            seen.method,
            upstream + seen.path,
            data=seen.body or None,
            headers={k: v for k, v in seen.headers.items() if k in keep},
            timeout=10,
        )
        return got.status_code, {"Content-Type": got.headers.get("Content-Type", "")}, got.content

    with session, serve(answer) as url:
        proxy.url = url
        yield proxy


@pytest.fixture
def proxy(sandbox_org: SandboxOrg) -> Iterator[Proxy]:
    with echoing(sandbox_org.url) as running:
        yield running


def test_an_api_echoing_the_request_leaks_nothing_anywhere(
    tmp_path: Path, sandbox_org: SandboxOrg, proxy: Proxy
) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "guardrail.yaml").write_text(GUARDRAIL)
    flags = ["--api", f"{proxy.url}/v1", "--org", sandbox_org.org]
    env = {"INFRACOST_SERVICE_TOKEN": sandbox_org.token, "HOOK_URL": WEBHOOK}
    seen: dict[str, str] = {}

    def cli(label: str, *args: str) -> int:
        secrets.forget()  # each command is a process of its own
        code, out, err = run(*args, cwd=directory, env=env)
        seen[f"{label} stdout"], seen[f"{label} stderr"] = out, err
        return code

    assert cli("plan", "plan", ".", *flags, "-o", "plan.json") == 0
    assert cli("apply json", "apply", "plan.json", "--format", "json") == 1
    (directory / "events.jsonl").write_text(seen["apply json stdout"])
    assert cli("apply text", "apply", "plan.json") == 1
    assert "400 Bad Request" in seen["apply text stdout"]
    assert "webhookUrl *** (***) refused" in seen["apply text stdout"]  # it did echo
    failed = json.loads(seen["apply json stdout"].splitlines()[0])
    assert failed["event"] == "failed" and "Bearer *** was your token" in failed["detail"]

    proxy.echo = False  # now the guardrail is made: the live state holds the URL
    assert cli("apply", "apply", ".", *flags, "--auto-approve") == 0
    assert cli("snapshot", "snapshot", *flags, "-o", "live.json") == 0

    with serve_github(FakeGitHub()) as fake:
        number = fake.add_pull_request()
        sha = "d" * 40
        fake.merge(number, sha)
        report_env = {
            "GITHUB_API_URL": fake.url,
            "GITHUB_REPOSITORY": fake.repository,
            "GITHUB_TOKEN": fake.token,
            "GITHUB_SHA": sha,
        }
        args = ["github", "apply-report", "--events", "events.jsonl", "--dir", "."]
        for comment in ([], ["--comment"]):
            secrets.forget()
            code, out, err = run(
                *args, "--exit-code", "1", "--org", "o", *comment, cwd=directory, env=report_env
            )
            assert code == 0, err
            seen[f"report {comment} stdout"], seen[f"report {comment} stderr"] = out, err
        [posted] = fake.comments(number)
    seen["comment"] = posted["body"]
    assert "### Apply failed" in posted["body"]
    for name in ("events.jsonl", "plan.json", "live.json"):
        seen[name] = (directory / name).read_text()

    for label, text in seen.items():
        assert WEBHOOK.lower() not in text.lower(), label
        assert_no_piece(text, TAIL, label)
        assert_no_piece(text, sandbox_org.token, label)


def test_the_apply_report_scrubs_an_old_event_log_with_what_its_step_knows(
    tmp_path: Path,
) -> None:
    """Defence in depth: an event log written by an older version, or by a step that did not
    know the secret, is scrubbed again with the secrets of the reporting step's environment."""
    (tmp_path / "guardrail.yaml").write_text(GUARDRAIL)
    token = "ics_" + random.token_hex(24)
    leaked = {
        "event": "failed",
        "kind": "Guardrail",
        "name": "Hooked",
        "detail": f"400: you sent {WEBHOOK} ({WEBHOOK.upper()}) with Bearer {token}",
    }
    (tmp_path / "events.jsonl").write_text(json.dumps(leaked) + "\n")
    env = {"HOOK_URL": WEBHOOK, "INFRACOST_SERVICE_TOKEN": token}
    code, out, err = run(
        "github", "apply-report", "--events", "events.jsonl", "--dir", ".", "--exit-code", "1",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert code == 0, err
    assert out.count("***") == 3
    for secret in (TAIL, token):
        assert_no_piece(out, secret, "apply report")


def test_pull_makes_the_servicenow_credentials_known(
    tmp_path: Path, servicenow: ServiceNowServer
) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "sources:\n"
        "  cmdb:\n"
        "    servicenow:\n"
        f"      instance: {servicenow.url}\n"
        "      user: {fromEnv: SN_USER}\n"
        "      password: {fromEnv: SN_PASSWORD}\n"
        "pull:\n"
        "  - source: cmdb\n"
        "    table: cmdb_ci_business_app\n"
        "    query: operational_status=1\n"
        "    fields: [u_app_id]\n"
        "    file: apps.csv\n"
    )
    env = {"SN_USER": servicenow.user, "SN_PASSWORD": servicenow.password}
    code, _, err = run("pull", ".", cwd=tmp_path, env=env)
    assert code == 0, err
    said = f"401 for {servicenow.user.upper()} with {servicenow.password}"
    assert secrets.scrub(said) == "401 for *** with ***"


def test_an_empty_variable_is_an_unset_one() -> None:
    from reconciler.secrets import from_env

    assert from_env({"HOOK": ""}, "HOOK", None) is None
    assert (
        from_env({"HOOK": ""}, "HOOK", "https://fallback.example/x") == "https://fallback.example/x"
    )
    assert from_env({}, "HOOK", "") == ""
    assert from_env({"HOOK": "https://hooks.example/x"}, "HOOK", "") == "https://hooks.example/x"


def test_a_credential_written_in_reconciler_yaml_is_never_repeated(tmp_path: Path) -> None:
    """A ServiceNow password written as a value (not {fromEnv: ...}) is an error that says what
    to write instead, and never shows the value."""
    (tmp_path / "reconciler.yaml").write_text(
        "org: acme\nsources:\n  cmdb:\n    servicenow:\n      instance: https://x.service-now.com\n"
        "      user: admin-person\n      password: hunter2-literal\n"
    )
    code, out, err = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert "hunter2-literal" not in out + err and "admin-person" not in out + err
    assert out.splitlines()[:2] == [
        f"reconciler.yaml:{n}:{c}: sources.cmdb.servicenow.{f}: is a secret: write "
        "{fromEnv: VARIABLE_NAME}, never the value"
        for n, c, f in ((6, 13, "user"), (7, 17, "password"))
    ]

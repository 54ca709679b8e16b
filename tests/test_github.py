"""``reconciler github``: the plan comment, the drift issue, the apply report and artifacts,
against a fake GitHub REST API on 127.0.0.1 (tests/helpers/fakegithub.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler import planfile
from reconciler.cli import main
from reconciler.errors import ConfigError, InputError
from reconciler.github import artifacts, comments, drift
from reconciler.http import github
from reconciler.model import Change, FieldChange, Plan, Ref, Unmanaged
from reconciler.render import github as render
from reconciler.render import markdown
from reconciler.settings import Secret
from tests.helpers.fakegithub import FAST, FakeGitHub
from tests.helpers.markdown_safety import assert_safe
from tests.helpers.plans import HOSTILE_NAMES, hostile_plan

HEAD = "c0ffee" + "0" * 34


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(fake: FakeGitHub, sleeps: Sleeps | None = None, **settings: Any) -> github.GitHub:
    gh = github.GitHub(
        fake.url,
        fake.repository,
        Secret(fake.token),
        github.GitHubSettings(**{**FAST.__dict__, **settings}),
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=lambda: 1_000_000.0,
    )
    gh.transport.session.trust_env = (
        False  # tests reach 127.0.0.1 only, whatever the proxy settings
    )
    return gh


def small_plan(directory: str = "examples", *, changes: int = 1, org: str = "acme") -> Plan:
    return Plan(
        org=org,
        api="sandbox",
        dir=directory,
        changes=tuple(
            Change(
                "update",
                Ref("Guardrail", f"guardrail {i}", f"id-{i}"),
                fields=(FieldChange("increaseThreshold", 100, 50 + i, governance="tightening"),),
                governance="tightening",
            )
            for i in range(changes)
        ),
    )


def env_for(
    fake: FakeGitHub, tmp_path: Path, event: dict[str, Any] | None = None
) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event or {}))
    return {
        "GITHUB_API_URL": fake.url,
        "GITHUB_REPOSITORY": fake.repository,
        "GITHUB_TOKEN": fake.token,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_SHA": "d" * 40,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "77",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }


def cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err, env=env, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


def pr_event(number: int, head: str = HEAD) -> dict[str, Any]:
    return {"pull_request": {"number": number, "head": {"sha": head}}}


# --- the plan comment ----------------------------------------------------------------------


def test_comment_found_on_a_later_page_is_edited_not_repeated(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    for i in range(5):  # three pages of other comments (2 per page) before ours
        fake.add_comment(number, f"review comment {i}")
    body = markdown.render(small_plan(), commit="1111111")
    fake.add_comment(number, markdown.render(small_plan(changes=2)), bot=True)
    fake.add_comment(number, "<!-- reconciler:plan dir=other org=acme -->\nanother directory")
    with client(fake) as gh:
        outcome = comments.upsert_comment(gh, number, body)
        assert outcome.action == "updated"
        assert comments.upsert_comment(gh, number, body).action == "unchanged"
    mine = [
        c
        for c in fake.comments(number)
        if c["body"].startswith(markdown.marker("examples", "acme"))
    ]
    assert [c["body"] for c in mine] == [body]
    assert len(fake.comments(number)) == 7
    assert len(fake.sent("GET", r"/issues/\d+/comments$")) == 8  # 4 pages, twice
    assert all(r.authorized for r in fake.requests)


def test_comment_per_directory(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    with client(fake) as gh:
        for directory in ("orgs/a", "orgs/b", "orgs/a"):
            comments.upsert_comment(gh, number, markdown.render(small_plan(directory)))
    assert sorted(c["body"].splitlines()[0] for c in fake.comments(number)) == [
        markdown.marker("orgs/a", "acme"),
        markdown.marker("orgs/b", "acme"),
    ]


def test_a_lost_post_answer_does_not_duplicate(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("POST", r"/comments$", 502, after=True)  # made, but the answer is a 502
    with client(fake) as gh:
        outcome = comments.upsert_comment(gh, number, markdown.render(small_plan()))
    assert outcome.action == "created"  # this run made it, though its answer was lost
    assert len(fake.comments(number)) == 1
    assert len(fake.sent("POST", r"/comments$")) == 1


def test_a_lost_post_is_reported_as_created_by_the_command(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    planfile.save(small_plan(), tmp_path / "plan.json", desired_digest="x")
    number = fake.add_pull_request()
    env = env_for(fake, tmp_path, pr_event(number))
    fake.fail("POST", r"/comments$", 502, after=True)
    code, out, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
    assert (code, err) == (0, "")
    [comment] = fake.comments(number)
    assert out == (f"Posted the plan comment on pull request #{number}: {comment['html_url']}\n")
    assert "comment-action=created" in (tmp_path / "output").read_text().splitlines()
    # again: the comment is there, as it should be, and nothing is written
    code, out, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"Unchanged: the plan comment on pull request #{number}: ")
    assert len(fake.comments(number)) == 1
    assert len(fake.sent("POST", r"/comments$")) == 1 and not fake.sent("PATCH", "")


def test_a_lost_post_of_the_drift_issue_is_reported_as_opened(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    planfile.save(small_plan(), tmp_path / "plan.json", desired_digest="x")
    env = env_for(fake, tmp_path)
    fake.fail("POST", r"/issues$", 502, after=True)
    code, out, err = cli(["github", "drift-issue", "--plan", "plan.json"], env, tmp_path)
    assert (code, err) == (0, "")
    [issue] = fake.issues()
    assert out == f"Drift: opened issue #{issue['number']}: {issue['html_url']}\n"
    code, out, err = cli(["github", "drift-issue", "--plan", "plan.json"], env, tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"Drift: issue #{issue['number']} is up to date")
    assert len(fake.issues()) == 1 and len(fake.sent("POST", r"/issues$")) == 1


def test_each_retry_is_a_line_on_stderr(fake: FakeGitHub, tmp_path: Path) -> None:
    planfile.save(small_plan(), tmp_path / "plan.json", desired_digest="x")
    number = fake.add_pull_request()
    env = env_for(fake, tmp_path, pr_event(number))
    fake.fail("GET", r"/comments$", 502)
    code, out, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
    assert code == 0 and out.startswith("Posted the plan comment")
    [line] = err.splitlines()
    assert re.fullmatch(
        rf"GitHub GET /repos/{fake.repository}/issues/{number}/comments\?per_page=100: "
        r"502 Bad Gateway; retry 1 of 5 (now|in 0\.1 s)",
        line,
    ), line


def test_a_422_without_messages_shows_the_fields_and_codes(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    planfile.save(small_plan(), tmp_path / "plan.json", desired_digest="x")
    env = env_for(fake, tmp_path)
    errors = [
        {"resource": "Issue", "field": "title", "code": "missing_field"},
        {"resource": "Issue", "field": "labels", "code": "invalid", "value": "x"},
    ]
    fake.fail("POST", r"/issues$", 422, message="Validation Failed", errors=errors)
    code, out, err = cli(["github", "drift-issue", "--plan", "plan.json"], env, tmp_path)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: GitHub POST /repos/{fake.repository}/issues: 422 Unprocessable Entity: "
        "Validation Failed: Issue.title: missing_field; Issue.labels: invalid\n"
    )
    assert not fake.issues()


def test_a_post_refused_with_502_before_the_work_is_made_once(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("POST", r"/comments$", 502)
    with client(fake) as gh:
        assert (
            comments.upsert_comment(gh, number, markdown.render(small_plan())).action == "created"
        )
    assert len(fake.comments(number)) == 1


def test_secondary_rate_limit_waits_as_told(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail(
        "GET",
        r"/comments$",
        403,
        headers={"Retry-After": "7"},
        message="You have exceeded a secondary rate limit. Please wait a few minutes.",
    )
    fake.fail("POST", r"/comments$", 429, headers={"Retry-After": "3"})
    fake.fail(
        "PATCH",
        r"/comments/",
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 12)},
        message="API rate limit exceeded",
    )
    sleeps = Sleeps()
    with client(fake, sleeps) as gh:
        comments.upsert_comment(gh, number, markdown.render(small_plan()))
        comments.upsert_comment(gh, number, markdown.render(small_plan(changes=2)))
    assert sleeps == [7.0, 3.0, 13.0]
    assert len(fake.comments(number)) == 1  # a 429 is a refusal: the POST was resent once


def test_a_secondary_rate_limit_without_a_hint_waits_a_minute(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("GET", r"/comments$", 403, message="You have exceeded a secondary rate limit")
    sleeps = Sleeps()
    with client(fake, sleeps, secondary_wait=60, wait_max=120) as gh:
        comments.upsert_comment(gh, number, markdown.render(small_plan()))
    assert sleeps == [60.0]


def test_waits_are_capped(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("GET", r"/comments$", 429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    with client(fake, sleeps) as gh, pytest.raises(github.GitHubError) as caught:
        comments.upsert_comment(gh, number, markdown.render(small_plan()))
    assert sleeps == []
    assert "GitHub asks to wait 3,600 s, longer than this command waits" in str(caught.value)


def test_5xx_retries_are_capped(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("GET", r"/comments$", 503, times=10)
    sleeps = Sleeps()
    with client(fake, sleeps) as gh, pytest.raises(github.GitHubError) as caught:
        comments.upsert_comment(gh, number, markdown.render(small_plan()))
    assert len(sleeps) == FAST.retries
    assert len(fake.sent("GET", r"/comments$")) == FAST.retries + 1
    assert str(caught.value) == (
        f"GitHub GET /repos/{fake.repository}/issues/{number}/comments: "
        "503 Service Unavailable: Service Unavailable"
    )


def test_a_persistent_rate_limit_says_so(fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("GET", r"/comments$", 429, headers={"Retry-After": "1"}, times=10)
    with client(fake) as gh, pytest.raises(github.GitHubError) as caught:
        comments.upsert_comment(gh, number, markdown.render(small_plan()))
    assert "still rate limited after 3 retries; run it again later" in str(caught.value)


def test_no_answer_on_a_closed_port() -> None:
    gh = github.GitHub(
        "http://127.0.0.1:9", "acme/policies", Secret("x" * 40), FAST, sleep=Sleeps()
    )
    gh.transport.session.trust_env = False
    with gh, pytest.raises(github.GitHubError) as caught:
        gh.json("GET", gh.url("/issues/1/comments"))
    assert "cannot connect to 127.0.0.1:9: connection refused" in str(caught.value)


def test_check_api_url() -> None:
    assert (
        github.check_api_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/v3"
    )
    with pytest.raises(ConfigError):
        github.check_api_url("http://api.github.com")


# --- the command: errors, size, safety ---------------------------------------------------------


def test_404_and_403_are_one_clear_line_without_the_token(fake: FakeGitHub, tmp_path: Path) -> None:
    planfile.save(small_plan(), tmp_path / "plan.json", desired_digest="x")
    env = env_for(fake, tmp_path, pr_event(41))  # no such pull request
    code, out, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
    assert code == 1
    assert err == (
        f"Error: GitHub GET /repos/{fake.repository}/issues/41/comments: 404 Not Found: Not Found "
        f"(check GITHUB_REPOSITORY ({fake.repository}) and that the token can see it; "
        "pull request #41)\n"
    )
    number = fake.add_pull_request()
    fake.fail("POST", r"/comments$", 403)
    env = env_for(fake, tmp_path, pr_event(number))
    code, out, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
    assert code == 1
    assert err == (
        f"Error: GitHub POST /repos/{fake.repository}/issues/{number}/comments: 403 Forbidden: "
        "Resource not accessible by integration (the job needs permissions: pull-requests: write; "
        "a pull request from a fork gets a read-only token)\n"
    )
    code, out, err = cli(
        ["github", "comment", "--plan", "plan.json"],
        {**env, "GITHUB_TOKEN": "ghs_wrong" * 4},
        tmp_path,
    )
    assert code == 1 and "401 Unauthorized: Bad credentials (the token is missing" in err
    assert "ghs_wrong" not in err + out and fake.token not in err + out


def test_missing_settings(fake: FakeGitHub, tmp_path: Path) -> None:
    planfile.save(small_plan(), tmp_path / "plan.json", desired_digest="x")
    env = env_for(fake, tmp_path, {})
    code, _, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
    assert code == 1 and "no pull request: run on a pull_request event or pass --pr N" in err
    del env["GITHUB_TOKEN"]
    code, _, err = cli(["github", "comment", "--plan", "plan.json", "--pr", "1"], env, tmp_path)
    assert code == 1 and "GITHUB_TOKEN is not set" in err


def huge_plan() -> Plan:
    """5,000 changes, hostile names among them, one of them 70,000 characters long."""
    names = [*HOSTILE_NAMES, "@org/team `x` <details> <!-- y", "n" * 70_000]
    changes = [
        Change(
            "update",
            Ref("TaggingPolicy", names[i % len(names)] + f" {i}", f"id-{i}"),
            fields=(
                FieldChange(
                    "tags[app].allowedValues",
                    added=tuple(f"@team-{j} `{j}`" for j in range(15)),
                    removed=("</details>", "<!--"),
                    unchanged=3,
                    is_set=True,
                    governance="mixed",
                ),
            ),
            governance=("tightening", "mixed", "loosening", "neutral")[i % 4],
        )
        for i in range(5_000)
    ]
    return Plan(
        org="acme",
        api="sandbox",
        dir="orgs/<!-- x --> @org/team",
        changes=tuple(changes),
        unmanaged=tuple(Unmanaged(Ref("Guardrail", n[:5000], "u")) for n in names),
    )


@pytest.mark.parametrize("make", [huge_plan, hostile_plan], ids=["5000-changes", "hostile"])
def test_comment_of_a_huge_hostile_plan(
    fake: FakeGitHub, tmp_path: Path, make: Callable[[], Plan]
) -> None:
    plan = make()
    planfile.save(plan, tmp_path / "plan.json", desired_digest="x")
    number = fake.add_pull_request()
    env = env_for(fake, tmp_path, pr_event(number, head="abc`` @octocat"))
    for _ in range(2):
        code, out, err = cli(["github", "comment", "--plan", "plan.json"], env, tmp_path)
        assert (code, err) == (0, ""), err
    [comment] = fake.comments(number)
    body = comment["body"]
    assert len(body) < 65_536
    assert body.splitlines()[0] == markdown.marker(plan.dir, plan.org)
    assert_safe(body)
    assert "planned at ```abc`` @octocat```" in body
    assert out.startswith(f"Unchanged: the plan comment on pull request #{number}: https://")


# --- the drift issue ---------------------------------------------------------------------------


def test_drift_issue_opened_updated_closed_reopened(fake: FakeGitHub, tmp_path: Path) -> None:
    env = env_for(fake, tmp_path)
    fake.add_pull_request()  # pull requests share the numbering and the issues list

    def run(plan: Plan, *flags: str) -> str:
        planfile.save(plan, tmp_path / "plan.json", desired_digest="x")
        code, out, err = cli(
            ["github", "drift-issue", "--plan", "plan.json", *flags], env, tmp_path
        )
        assert (code, err) == (0, "")
        return out

    assert run(small_plan(changes=0)) == "No drift: no open drift issue.\n"
    assert run(small_plan()).startswith("Drift: opened issue #2: https://")
    assert fake.state.labels == {drift.DRIFT_LABEL}
    assert run(small_plan()).startswith("Drift: issue #2 is up to date")
    assert run(small_plan(changes=3)).startswith("Drift: updated issue #2")
    run(small_plan("other"))  # another directory: its own issue
    unmanaged = Plan("acme", "sandbox", "examples", (), (Unmanaged(Ref("Guardrail", "ui", "1")),))
    assert run(unmanaged).startswith("No drift: closed issue #2")
    assert run(unmanaged, "--fail-on-unmanaged").startswith("Drift: reopened issue #2")
    assert (tmp_path / "output").read_text().splitlines()[-3:] == [
        "drift=true",
        "changes=false",
        "issue=2",
    ]
    issues = {i["number"]: i for i in fake.issues()}
    assert sorted(issues) == [2, 3]
    assert issues[2]["state"] == "open"
    assert issues[2]["title"] == "Drift: examples (org acme) differs from the files"
    body = issues[2]["body"]
    assert body.splitlines()[0] == render.kind_marker("drift", "examples", "acme")
    assert "<!-- reconciler:plan" not in body
    assert "#### Unmanaged (1)" in body
    [closing] = fake.comments(2)
    assert closing["body"] == (
        f"No drift at commit `{'d' * 40}` ([workflow run](https://github.example/"
        f"{fake.repository}/actions/runs/77)): the live state matches the files again. Closing."
    )


def test_drift_issue_of_a_huge_hostile_plan(fake: FakeGitHub, tmp_path: Path) -> None:
    planfile.save(huge_plan(), tmp_path / "plan.json", desired_digest="x")
    code, _, err = cli(
        ["github", "drift-issue", "--plan", "plan.json"], env_for(fake, tmp_path), tmp_path
    )
    assert (code, err) == (0, "")
    [issue] = fake.issues()
    assert len(issue["body"]) < 65_536
    assert issue["title"] == "Drift: orgs/__-- x --_ _org/team (org acme) differs from the files"


# --- the apply report --------------------------------------------------------------------------


def _events(tmp_path: Path, *events: dict[str, Any]) -> None:
    lines = [json.dumps(e) for e in events]
    (tmp_path / "events.jsonl").write_text("\n".join(["not json", *lines]) + "\n")


def test_apply_report_in_the_summary_and_on_the_merged_pull_request(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    env = env_for(fake, tmp_path)
    number = fake.add_pull_request()
    fake.merge(number, env["GITHUB_SHA"])
    _events(
        tmp_path,
        {"event": "created", "kind": "Guardrail", "name": "ok", "id": "1", "detail": ""},
        {
            "event": "failed",
            "kind": "Guardrail",
            "name": "@org/team ```",
            "id": None,
            "detail": "POST /guardrails: 422 <details>",
        },
        {
            "event": "summary",
            "applied": 1,
            "failed": 1,
            "skipped": 0,
            "interrupted": False,
            "changes": True,
        },
    )
    args = [
        "github",
        "apply-report",
        "--events",
        "events.jsonl",
        "--dir",
        "examples",
        "--org",
        "acme",
    ]
    code, out, _ = cli([*args, "--exit-code", "1"], env, tmp_path)
    assert code == 0
    assert out.splitlines()[0] == "### Apply failed: 1 applied, 1 failed, 0 skipped"
    assert (
        '\n````diff\n! failed Guardrail "@org/team ```": POST /guardrails: 422 <details>\n' in out
    )
    assert out.index("! failed") < out.index("+ created")
    code, out, _ = cli([*args, "--exit-code", "1", "--comment"], env, tmp_path)
    assert out.startswith(f"Apply report created on pull request #{number}")
    code, out, _ = cli([*args, "--exit-code", "1", "--comment"], env, tmp_path)
    assert out.startswith(f"Apply report unchanged on pull request #{number}")
    [comment] = fake.comments(number)
    assert comment["body"].splitlines()[0] == render.kind_marker("apply", "examples", "acme")
    assert "[workflow run](https://github.example/acme/policies/actions/runs/77)" in comment["body"]
    _events(
        tmp_path,
        {
            "event": "summary",
            "applied": 1,
            "failed": 0,
            "skipped": 0,
            "interrupted": False,
            "changes": True,
        },
    )
    code, out, _ = cli([*args, "--exit-code", "0", "--comment"], env, tmp_path)
    assert out.startswith(f"Apply report updated on pull request #{number}")
    [comment] = fake.comments(number)
    assert comment["body"].splitlines()[1] == "### Apply complete: 1 applied, 0 failed, 0 skipped"


def test_apply_report_without_a_merged_pull_request_or_a_summary(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    env = env_for(fake, tmp_path)
    args = ["github", "apply-report", "--events", "missing.jsonl", "--dir", "examples"]
    code, out, _ = cli([*args, "--exit-code", "1"], env, tmp_path)
    assert out.startswith("### Apply failed (exit code 1) before it reported a summary\n")
    code, out, _ = cli([*args, "--exit-code", "1", "--comment"], env, tmp_path)
    assert (code, out) == (0, f"No pull request was merged as {'d' * 40}: no comment.\n")
    code, out, _ = cli([*args, "--exit-code", "0", "--comment"], env, tmp_path)
    assert code == 0 and not fake.comments(1)


def test_apply_report_stays_under_the_limit() -> None:
    events = [
        {"event": "failed", "kind": "TaggingPolicy", "name": "x" * 70_000, "detail": "y" * 9_000}
        for _ in range(5_000)
    ]
    out = render.apply_report(
        events, exit_code=1, directory="d", org="o", commit="c", run_url="", marker=True
    )
    assert len(out) < 65_536
    assert out.endswith("not shown; see the event log artifact.")


# --- artifacts ---------------------------------------------------------------------------------


def test_download_takes_the_newest_artifact_of_a_trusted_run(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    old = fake.add_run(event="push")
    fake.add_artifact(old, "snap", {"live.json": b"old"})
    good = fake.add_run(event="schedule")
    fake.add_artifact(good, "snap", {"live.json": b"good", "sub/x.txt": b"x"})
    fake.add_artifact(good, "other", {"live.json": b"other"})
    for run in (
        fake.add_run(event="pull_request"),  # a pull request's run, even from a branch "main"
        fake.add_run(event="push", branch="feature"),
        fake.add_run(event="push", fork=True),
    ):
        fake.add_artifact(run, "snap", {"live.json": b"untrusted"})
    expired = fake.add_run(event="push")
    fake.add_archive(expired, "snap", b"", expired=True)
    env = env_for(fake, tmp_path)
    code, out, err = cli(["github", "download", "--name", "snap", "--into", "s"], env, tmp_path)
    assert (code, err) == (0, "")
    assert (tmp_path / "s" / "live.json").read_bytes() == b"good"
    assert (tmp_path / "s" / "sub" / "x.txt").read_bytes() == b"x"
    assert out.startswith(f"Downloaded snap (2 files) from run {good} (2026-")
    assert out.endswith(") into s.\n")
    assert "found=true" in (tmp_path / "output").read_text()
    [storage] = fake.sent("GET", "/_storage/")
    assert not storage.authorized  # the token never goes to the storage


def test_download_when_there_is_none(fake: FakeGitHub, tmp_path: Path) -> None:
    env = env_for(fake, tmp_path)
    args = ["github", "download", "--name", "snap", "--into", "s"]
    code, _, err = cli(args, env, tmp_path)
    assert code == 1
    assert err == (
        "Error: no artifact 'snap' from a push, schedule or manual run on main (or all have "
        "expired): run the apply or drift workflow on main once (Actions > Run workflow) to "
        "make it\n"
    )
    code, out, _ = cli([*args, "--missing-ok"], env, tmp_path)
    assert code == 0 and out.startswith("No artifact 'snap' from a push")
    assert "found=false" in (tmp_path / "output").read_text()


def test_download_takes_the_default_branch_from_the_event_else_from_github(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    """A repository whose default branch is not main: a pull request's event names it; a
    scheduled run's event names no repository, so GitHub is asked (one request)."""
    fake.default_branch = "trunk"
    on_main = fake.add_run(event="push", branch="main")
    fake.add_artifact(on_main, "snap", {"live.json": b"main"})
    on_trunk = fake.add_run(event="push", branch="trunk")
    fake.add_artifact(on_trunk, "snap", {"live.json": b"trunk"})
    args = ["github", "download", "--name", "snap", "--into", "s"]
    pull_request = {"pull_request": {"number": 1}, "repository": {"default_branch": "trunk"}}
    repository = f"^/repos/{re.escape(fake.repository)}$"
    for event, asked in ((pull_request, 0), ({"schedule": "23 5 * * *"}, 1)):
        before = len(fake.sent("GET", repository))
        code, out, err = cli(args, env_for(fake, tmp_path, event), tmp_path)
        assert (code, err) == (0, ""), out
        assert (tmp_path / "s" / "live.json").read_bytes() == b"trunk"
        assert len(fake.sent("GET", repository)) - before == asked
    code, _, _ = cli([*args, "--branch", "main"], env_for(fake, tmp_path), tmp_path)
    assert code == 0 and (tmp_path / "s" / "live.json").read_bytes() == b"main"


@pytest.mark.parametrize("name", ["../evil", "/abs", "a/../../b"])
def test_extract_refuses_paths_that_leave(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, b"x")
    with pytest.raises(InputError, match="unsafe path"):
        artifacts.extract(buffer.getvalue(), tmp_path / "into")

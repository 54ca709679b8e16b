"""``reconciler github pull-request``: the one pull request of the pull workflow's branch, opened,
edited, left alone or closed, against the fake GitHub on 127.0.0.1
(tests/helpers/fakegithub.py)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.github import pulls
from reconciler.http import github
from reconciler.settings import Secret
from tests.helpers.fakegithub import FAST, FakeGitHub

BRANCH = "reconciler/pull-examples"
MARKER = "<!-- reconciler:pull dir=examples -->"
BODY = (
    f"{MARKER}\n### Pull: 1 file changed\n\n| file | rows |\n|---|---|\n| `data/apps.csv` | +3 -1 |"
)
APP_TOKEN = "ghs_" + "a" * 36


def env_for(fake: FakeGitHub, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    return {
        "GITHUB_API_URL": fake.url,
        "GITHUB_REPOSITORY": fake.repository,
        "GITHUB_TOKEN": token or fake.token,
        "GITHUB_REF_NAME": "main",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }


def cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["github", "pull-request", *args], stdout=out, stderr=err, env=env, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


def ensure(
    fake: FakeGitHub, tmp_path: Path, body: str = BODY, *flags: str, title: str = "Pull examples"
) -> tuple[int, str, str]:
    (tmp_path / "body.md").write_text(body + "\n")
    args = ["--branch", BRANCH, "--title", title, "--body-file", "body.md", *flags]
    return cli(args, env_for(fake, tmp_path), tmp_path)


def close(fake: FakeGitHub, tmp_path: Path, *flags: str) -> tuple[int, str, str]:
    return cli(["--branch", BRANCH, "--close", *flags], env_for(fake, tmp_path), tmp_path)


def outputs(tmp_path: Path) -> list[str]:
    return (tmp_path / "output").read_text().splitlines()


# --- open, update, leave alone, close ----------------------------------------------------------


def test_opened_then_unchanged_then_updated(fake: FakeGitHub, tmp_path: Path) -> None:
    assert ensure(fake, tmp_path) == (
        0,
        f"opened #1 https://github.example/{fake.repository}/pull/1\n",
        "",
    )
    [pull] = fake.pulls()
    assert pull["state"] == "open"
    assert (pull["title"], pull["body"]) == ("Pull examples", BODY)  # the file's last newline
    assert pull["head"]["label"] == f"acme:{BRANCH}" and pull["base"]["ref"] == "main"
    assert pull["user"]["login"] == "github-actions[bot]"
    assert outputs(tmp_path)[-3:] == [
        "action=opened",
        "number=1",
        f"url=https://github.example/{fake.repository}/pull/1",
    ]

    assert ensure(fake, tmp_path) == (0, "unchanged #1\n", "")
    assert not fake.sent("PATCH", "/pulls/")
    assert outputs(tmp_path)[-3] == "action=unchanged"

    changed = BODY.replace("+3 -1", "+4 -1")
    assert ensure(fake, tmp_path, changed) == (0, "updated #1\n", "")
    assert ensure(fake, tmp_path, changed, title="Pull examples again") == (0, "updated #1\n", "")
    [pull] = fake.pulls()
    assert (pull["title"], pull["body"], pull["edits"]) == ("Pull examples again", changed, 2)
    assert len(fake.sent("PATCH", "/pulls/1$")) == 2
    assert all(r.authorized for r in fake.requests)
    assert fake.sent("GET", r"/pulls$")[0].query.startswith("per_page=100&head=acme%3Areconciler")


def test_closed_with_a_comment_then_none(fake: FakeGitHub, tmp_path: Path) -> None:
    assert ensure(fake, tmp_path)[0] == 0
    code, out, err = close(fake, tmp_path, "--comment", "The source matches main again.")
    assert (code, out, err) == (0, "closed #1\n", "")
    [pull] = fake.pulls()
    assert pull["state"] == "closed"
    [comment] = fake.comments(1)
    assert comment["body"] == "The source matches main again."
    posted, closed = fake.sent("POST", "/comments$")[0], fake.sent("PATCH", "/pulls/1$")[0]
    assert fake.requests.index(posted) < fake.requests.index(closed)  # said why, then closed
    assert outputs(tmp_path)[-3:] == [
        "action=closed",
        "number=1",
        f"url=https://github.example/{fake.repository}/pull/1",
    ]

    assert close(fake, tmp_path, "--comment", "again") == (0, "none\n", "")
    assert len(fake.comments(1)) == 1
    assert outputs(tmp_path)[-3:] == ["action=none", "number=", "url="]

    # the next change opens a new one: a closed pull request is never reopened
    assert ensure(fake, tmp_path)[1].startswith("opened #2 ")
    assert [p["state"] for p in fake.pulls()] == ["closed", "open"]


def test_close_touches_only_the_branch_of_this_repository(fake: FakeGitHub, tmp_path: Path) -> None:
    other = fake.open_pull("feature", title="a person's change")
    fork = fake.open_pull(BRANCH, head_repository="someone/policies")  # same name, a fork
    done = fake.open_pull(BRANCH, title="closed before")
    fake.state.issues[done]["state"] = "closed"
    assert close(fake, tmp_path, "--comment", "bye") == (0, "none\n", "")
    assert [fake.state.issues[n]["state"] for n in (other, fork, done)] == [
        "open",
        "open",
        "closed",
    ]
    assert not fake.comments(other) and not fake.comments(fork)
    assert not fake.sent("PATCH", "/pulls/")


def test_close_without_a_comment_and_by_base(fake: FakeGitHub, tmp_path: Path) -> None:
    into_release = fake.open_pull(BRANCH, base="release")
    assert close(fake, tmp_path, "--base", "main") == (0, "none\n", "")
    assert close(fake, tmp_path) == (0, f"closed #{into_release}\n", "")
    assert not fake.comments(into_release)


def test_one_into_another_base_is_moved_not_doubled(fake: FakeGitHub, tmp_path: Path) -> None:
    number = fake.open_pull(BRANCH, base="release", title="Pull examples", body=BODY)
    assert ensure(fake, tmp_path) == (0, f"updated #{number}\n", "")
    [pull] = fake.pulls()
    assert pull["base"]["ref"] == "main"


def test_the_base_defaults_to_the_default_branch(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.default_branch = "trunk"
    ensure(fake, tmp_path)
    assert fake.pulls()[-1]["base"]["ref"] == "trunk"
    fake.default_branch = ""  # GitHub names none: the run's branch
    close(fake, tmp_path)
    ensure(fake, tmp_path)
    assert fake.pulls()[-1]["base"]["ref"] == "main"
    close(fake, tmp_path)
    ensure(fake, tmp_path, BODY, "--base", "release")
    assert fake.pulls()[-1]["base"]["ref"] == "release"
    assert len(fake.sent("GET", r"/repos/acme/policies$")) == 2  # not with --base


def test_opened_by_a_github_app(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_token(APP_TOKEN, "acme-reconciler[bot]")
    (tmp_path / "body.md").write_text(BODY)
    args = ["--branch", BRANCH, "--title", "t", "--body-file", "body.md"]
    code, out, err = cli(args, env_for(fake, tmp_path, APP_TOKEN), tmp_path)
    assert (code, err) == (0, "") and out.startswith("opened #1 ")
    assert fake.pulls()[0]["user"]["login"] == "acme-reconciler[bot]"
    assert APP_TOKEN not in out + err


# --- never two ---------------------------------------------------------------------------------


def test_a_lost_post_answer_is_looked_for_before_trying_again(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.fail("POST", r"/pulls$", 502, after=True)  # made, but the answer is a 502
    assert ensure(fake, tmp_path)[:2] == (
        0,
        f"opened #1 https://github.example/{fake.repository}/pull/1\n",
    )
    assert len(fake.pulls()) == 1
    assert len(fake.sent("POST", r"/pulls$")) == 1
    assert not fake.sent("PATCH", "/pulls/")


def test_a_post_refused_before_the_work_is_sent_again(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.fail("POST", r"/pulls$", 502)  # refused: nothing made
    assert ensure(fake, tmp_path)[:2] == (
        0,
        f"opened #1 https://github.example/{fake.repository}/pull/1\n",
    )
    assert len(fake.pulls()) == 1
    assert len(fake.sent("POST", r"/pulls$")) == 2
    assert len(fake.sent("GET", r"/pulls$")) == 2  # looked in between


def test_already_exists_is_resolved_by_finding_it(fake: FakeGitHub, tmp_path: Path) -> None:
    # another run opens it between this one's look and its POST
    fake.before(
        "POST", r"/pulls$", lambda: fake.open_pull(BRANCH, title="older", body=f"{MARKER}\nold")
    )
    assert ensure(fake, tmp_path) == (0, "updated #1\n", "")
    [pull] = fake.pulls()
    assert (pull["title"], pull["body"]) == ("Pull examples", BODY)
    [post] = fake.sent("POST", r"/pulls$")
    assert post.status == 422


def test_already_exists_but_not_found_is_an_error(fake: FakeGitHub, tmp_path: Path) -> None:
    exists = {"message": f"A pull request already exists for acme:{BRANCH}."}
    fake.fail("POST", r"/pulls$", 422, message="Validation Failed", errors=[exists], times=5)
    code, out, err = ensure(fake, tmp_path)
    assert code == 1 and out == ""
    assert err == (
        f"Error: GitHub POST /repos/{fake.repository}/pulls: 422 Unprocessable Entity: Validation "
        f"Failed: A pull request already exists for acme:{BRANCH}.\n"
    )
    assert len(fake.sent("POST", r"/pulls$")) == pulls.ATTEMPTS
    assert not fake.pulls()


def test_a_lost_comment_answer_comments_once(fake: FakeGitHub, tmp_path: Path) -> None:
    number = fake.open_pull(BRANCH)
    fake.fail("POST", r"/comments$", 502, after=True)
    assert close(fake, tmp_path, "--comment", "done") == (0, f"closed #{number}\n", "")
    assert [c["body"] for c in fake.comments(number)] == ["done"]


# --- with the branches in a repository ---------------------------------------------------------


def _bare_repository(tmp_path: Path) -> Path:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    for step in (
        ["commit", "-q", "--allow-empty", "-m", "one"],
        ["push", "-q", str(origin), "HEAD:refs/heads/main", f"HEAD:refs/heads/{BRANCH}"],
    ):
        subprocess.run([*git, "-C", str(work), *step], check=True)
    return origin


def test_a_branch_that_is_missing_or_has_nothing_new(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.git_dir = _bare_repository(tmp_path)
    code, _, err = ensure(fake, tmp_path)
    assert code == 1
    assert err == (
        f"Error: GitHub POST /repos/{fake.repository}/pulls: 422 Unprocessable Entity: Validation "
        f"Failed: No commits between main and {BRANCH} (the branch '{BRANCH}' must exist on "
        "GitHub and hold commits that 'main' does not: push it first)\n"
    )
    code, _, err = ensure(fake, tmp_path, BODY, "--base", "nowhere")
    assert code == 1
    assert (
        "422 Unprocessable Entity: Validation Failed: PullRequest.base: invalid (the branch" in err
    )
    assert not fake.pulls()


# --- errors ------------------------------------------------------------------------------------


def test_permission_errors_name_what_is_needed(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.fail(
        "POST",
        r"/pulls$",
        403,
        message="GitHub Actions is not permitted to create or approve pull requests.",
    )
    code, out, err = ensure(fake, tmp_path)
    assert (code, out) == (1, "")
    assert err == (
        f"Error: GitHub POST /repos/{fake.repository}/pulls: 403 Forbidden: GitHub Actions is not "
        "permitted to create or approve pull requests. (the token needs pull-requests: write and "
        "contents: write (the job's permissions, or those of the GitHub App or fine-grained "
        "token); with GITHUB_TOKEN the repository must also allow it: Settings > Actions > "
        'General > "Allow GitHub Actions to create and approve pull requests")\n'
    )
    fake.fail("GET", r"/pulls$", 404)
    code, _, err = ensure(fake, tmp_path)
    assert err == (
        f"Error: GitHub GET /repos/{fake.repository}/pulls: 404 Not Found: Not Found (check "
        f"GITHUB_REPOSITORY ({fake.repository}) and that the token can see it; the token needs "
        "pull-requests: read)\n"
    )
    number = fake.open_pull(BRANCH)
    fake.fail("PATCH", rf"/pulls/{number}$", 403)
    code, _, err = close(fake, tmp_path)
    assert code == 1
    assert err.startswith(
        f"Error: GitHub PATCH /repos/{fake.repository}/pulls/{number}: 403 Forbidden: Resource "
        "not accessible by integration (the token needs pull-requests: write and contents: write"
    )
    env = {**env_for(fake, tmp_path), "GITHUB_TOKEN": "ghs_wrong" * 4}
    code, out, err = cli(["--branch", BRANCH, "--close"], env, tmp_path)
    assert code == 1 and "401 Unauthorized: Bad credentials (the token is missing" in err
    assert "ghs_wrong" not in out + err and fake.token not in out + err
    del env["GITHUB_TOKEN"]
    code, _, err = cli(["--branch", BRANCH, "--close"], env, tmp_path)
    assert code == 1 and "GITHUB_TOKEN is not set" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", BRANCH], "--title and --body-file are required unless --close"),
        (["--branch", BRANCH, "--title", "t"], "--body-file is required unless --close"),
        (["--branch", BRANCH, "--close", "--title", "t"], "--close takes no --title"),
        (
            ["--branch", BRANCH, "--title", "t", "--body-file", "b.md", "--comment", "c"],
            "--comment goes with --close",
        ),
        (["--branch", BRANCH, "--title", " ", "--body-file", "b.md"], "--title is empty"),
        (["--branch", "a..b", "--close"], "--branch: 'a..b' is not a branch name"),
        (["--branch", BRANCH, "--close", "--base=x/"], "--base: 'x/' is not a branch name"),
        (["--close"], "the following arguments are required: --branch"),
    ],
)
def test_usage_errors(fake: FakeGitHub, tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = cli(args, env_for(fake, tmp_path), tmp_path)
    assert code == 1 and message in err, err
    assert not fake.requests


def test_body_file_errors(fake: FakeGitHub, tmp_path: Path) -> None:
    args = ["--branch", BRANCH, "--title", "t", "--body-file", "body.md"]
    code, _, err = cli(args, env_for(fake, tmp_path), tmp_path)
    assert code == 1 and err.startswith("Error: body.md: cannot read the body (")
    (tmp_path / "body.md").write_text("\n\n")
    code, _, err = cli(args, env_for(fake, tmp_path), tmp_path)
    assert err == "Error: body.md: the body is empty (did the step that writes it fail?)\n"
    (tmp_path / "body.md").write_text("x" * 70_000)
    code, _, err = cli(args, env_for(fake, tmp_path), tmp_path)
    assert err == "Error: body.md: 70,000 characters, over GitHub's 65,536 for a pull request\n"
    assert not fake.requests


def test_the_flow_on_the_client(fake: FakeGitHub) -> None:
    """The module on its own: never two, whatever the order of calls."""
    gh = github.GitHub(fake.url, fake.repository, Secret(fake.token), FAST, sleep=lambda s: None)
    gh.transport.session.trust_env = False
    with gh:
        assert pulls.close_pull_request(gh, branch=BRANCH) == []
        first = pulls.ensure_pull_request(gh, branch=BRANCH, base="main", title="t", body="b")
        again = pulls.ensure_pull_request(gh, branch=BRANCH, base="main", title="t", body="b")
        assert (first.action, again.action, first.number, again.number) == (
            "opened",
            "unchanged",
            1,
            1,
        )
        assert pulls.find_open(gh, BRANCH, "main")[0]["number"] == 1
        assert pulls.find_open(gh, BRANCH, "release") == []
        [closed] = pulls.close_pull_request(gh, branch=BRANCH, comment="c")
        assert (closed.action, closed.number) == ("closed", 1)

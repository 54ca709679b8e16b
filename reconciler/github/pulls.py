"""The pull request of a bot's branch (the pull workflow): exactly one open pull request from a
fixed branch, opened, edited or left alone, and closed with a note when it is no longer needed.

It is found by its head branch (``GET /pulls?head=OWNER:BRANCH&state=open``), never by its
title or body. A POST whose answer is lost is looked for before it is sent again, and GitHub's
422 "A pull request already exists" is resolved by finding that pull request: never two.
"""

from __future__ import annotations

from typing import Any

from reconciler.github.comments import Outcome, check_body
from reconciler.http.github import GitHub, GitHubError, as_int

PULLS_READ = "the token needs pull-requests: read"
PULLS_WRITE = (
    "the token needs pull-requests: write and contents: write (the job's permissions, or those "
    "of the GitHub App or fine-grained token)"
)
ACTIONS_MAY_OPEN = (
    "; with GITHUB_TOKEN the repository must also allow it: Settings > Actions > General > "
    '"Allow GitHub Actions to create and approve pull requests"'
)
ATTEMPTS = 3  # POSTs of one pull request at most, each after looking for it


def head_label(gh: GitHub, branch: str) -> str:
    """``OWNER:BRANCH``: how GitHub names a head branch of this repository."""
    return f"{gh.repository.split('/', 1)[0]}:{branch}"


def default_branch(gh: GitHub) -> str:
    """The repository's default branch ("" if GitHub names none)."""
    repository = gh.json(
        "GET", f"{gh.api_url}/repos/{gh.repository}", hint="the token cannot read the repository"
    )
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    return branch if isinstance(branch, str) else ""


def find_open(gh: GitHub, branch: str, base: str | None = None) -> list[dict[str, Any]]:
    """The open pull requests from ``branch`` of this repository (into ``base`` if given),
    oldest first, over every page."""
    params = {"head": head_label(gh, branch), "state": "open"}
    if base:
        params["base"] = base
    found = [
        p
        for p in gh.pages(gh.url("/pulls"), params=params, hint=PULLS_READ)
        if p.get("state") == "open" and _head(p) == (gh.repository.lower(), branch)
    ]
    found.sort(key=lambda p: as_int(p.get("number")))
    return found


def ensure_pull_request(gh: GitHub, *, branch: str, base: str, title: str, body: str) -> Outcome:
    """The one open pull request from ``branch`` into ``base`` with this title and body:
    ``opened`` if there was none, ``updated`` if it differed (its base too), else
    ``unchanged``."""
    check_body(body)
    found = find_open(gh, branch)
    opened = False
    if found:
        pull = found[0]
    else:
        pull, opened = _open(
            gh, branch, {"title": title, "head": branch, "base": base, "body": body}
        )
    number = as_int(pull.get("number"))
    url = str(pull.get("html_url", ""))
    change: dict[str, Any] = {}
    if pull.get("title") != title:
        change["title"] = title
    if (pull.get("body") or "") != body:
        change["body"] = body
    if _base(pull) != base:
        change["base"] = base
    if change:
        gh.json("PATCH", gh.url(f"/pulls/{number}"), json=change, hint=PULLS_WRITE)
    if opened:
        return Outcome("opened", number, url)
    return Outcome("updated" if change else "unchanged", number, url)


def close_pull_request(
    gh: GitHub, *, branch: str, base: str | None = None, comment: str = ""
) -> list[Outcome]:
    """Close every open pull request from ``branch`` (into ``base`` if given), each after
    ``comment`` if any; nothing when none is open."""
    if comment:
        check_body(comment)
    closed = []
    for pull in find_open(gh, branch, base):
        number = as_int(pull.get("number"))
        if comment:
            _comment_once(gh, number, comment)
        gh.json("PATCH", gh.url(f"/pulls/{number}"), json={"state": "closed"}, hint=PULLS_WRITE)
        closed.append(Outcome("closed", number, str(pull.get("html_url", ""))))
    return closed


def _open(gh: GitHub, branch: str, document: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """POST the pull request, or find the one that is there: (the pull request, whether this
    call made it)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            made = gh.json(
                "POST", gh.url("/pulls"), json=document, hint=PULLS_WRITE + ACTIONS_MAY_OPEN
            )
        except GitHubError as exc:
            exists = _already_exists(exc)
            if not (exists or exc.maybe_done):
                raise _explained(exc, document) from None
            found = find_open(gh, branch)  # made meanwhile, or by the POST whose answer is lost
            if found:
                return found[0], exc.maybe_done and not exists
            if attempt == ATTEMPTS:
                raise
            continue
        if not isinstance(made, dict) or "number" not in made:
            path = gh.transport.path(gh.url("/pulls"))
            raise GitHubError("POST", path, None, "malformed answer: no pull request number")
        return made, True
    raise AssertionError("unreachable")  # pragma: no cover


def _already_exists(exc: GitHubError) -> bool:
    return exc.status == 422 and "already exists" in exc.detail.lower()


def _explained(exc: GitHubError, document: dict[str, Any]) -> GitHubError:
    """A 422 of GitHub's (no commits, no such branch) with what to check."""
    if exc.status != 422 or exc.hint:
        return exc
    hint = (
        f"the branch {document['head']!r} must exist on GitHub and hold commits that "
        f"{document['base']!r} does not: push it first"
    )
    return GitHubError(exc.method, exc.path, exc.status, exc.detail, hint=hint)


def _comment_once(gh: GitHub, number: int, body: str) -> None:
    """One comment, not two when the answer of the first POST is lost."""
    url = gh.url(f"/issues/{number}/comments")
    try:
        gh.json("POST", url, json={"body": body}, hint=PULLS_WRITE)
    except GitHubError as exc:
        if not exc.maybe_done:
            raise
        if not any(c.get("body") == body for c in gh.pages(url, hint=PULLS_READ)):
            gh.json("POST", url, json={"body": body}, hint=PULLS_WRITE)


def _head(pull: dict[str, Any]) -> tuple[str, str]:
    head = pull.get("head")
    if not isinstance(head, dict):
        return "", ""
    repo = head.get("repo")
    full_name = repo.get("full_name") if isinstance(repo, dict) else None
    return str(full_name or "").lower(), str(head.get("ref") or "")


def _base(pull: dict[str, Any]) -> str:
    base = pull.get("base")
    return str(base.get("ref") or "") if isinstance(base, dict) else ""

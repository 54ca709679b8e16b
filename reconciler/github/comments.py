"""The plan comment and the apply report: one comment per marker, found over every page of
comments, edited in place, never duplicated (a lost POST is looked for before it is resent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from reconciler.http.github import GitHub, GitHubError, as_int

BODY_LIMIT = 65_536  # characters in a comment or issue body
PR_WRITE = (
    "the job needs permissions: pull-requests: write; a pull request from a fork gets a "
    "read-only token"
)


@dataclass(frozen=True)
class Outcome:
    """What a flow did: ``created``, ``updated``, ``unchanged``, ``opened``, ``reopened``,
    ``closed`` or ``none``; with the comment or issue it concerns."""

    action: str
    number: int | None = None
    url: str = ""


def first_line(body: str) -> str:
    return body.split("\n", 1)[0]


def find_comment(gh: GitHub, number: int, marker: str) -> dict[str, Any] | None:
    """The comment whose first line is ``marker``, over every page; a bot's first, then oldest."""
    found = [
        c
        for c in gh.pages(gh.url(f"/issues/{number}/comments"), hint=f"pull request #{number}")
        if isinstance(c.get("body"), str) and first_line(c["body"]) == marker
    ]
    if not found:
        return None
    found.sort(key=lambda c: (not _is_bot(c), str(c.get("created_at", "")), int(c.get("id", 0))))
    return found[0]


def upsert_comment(gh: GitHub, number: int, body: str) -> Outcome:
    """The one comment that starts with ``body``'s first line (its marker): edited or made."""
    check_body(body)
    marker = first_line(body)
    existing = find_comment(gh, number, marker)
    if existing is None:
        made, existing = post_or_find(
            gh,
            f"/issues/{number}/comments",
            {"body": body},
            PR_WRITE,
            find=lambda: find_comment(gh, number, marker),
            landed=lambda c: c.get("body") == body,
        )
        if made:
            return Outcome("created", as_int(existing.get("id")), str(existing.get("html_url", "")))
    comment_id = as_int(existing.get("id"))
    url = str(existing.get("html_url", ""))
    if existing.get("body") == body:
        return Outcome("unchanged", comment_id, url)
    gh.json("PATCH", gh.url(f"/issues/comments/{comment_id}"), json={"body": body}, hint=PR_WRITE)
    return Outcome("updated", comment_id, url)


def post_or_find(
    gh: GitHub,
    path: str,
    document: Mapping[str, Any],
    hint: str,
    *,
    find: Callable[[], dict[str, Any] | None],
    landed: Callable[[dict[str, Any]], bool],
) -> tuple[bool, dict[str, Any]]:
    """POST ``document`` once: after a lost answer, ``find`` looks whether it landed before it
    is sent again. Returns (made by this run, the object); an object found that is not
    ``landed`` (ours) was there before, and the caller goes on with it as an existing one."""
    try:
        return True, gh.json("POST", gh.url(path), json=document, hint=hint)
    except GitHubError as exc:
        if not exc.maybe_done:
            raise
    found = find()
    if found is None:
        return True, gh.json("POST", gh.url(path), json=document, hint=hint)
    return landed(found), found


def update_comment_if_any(gh: GitHub, number: int, body: str) -> Outcome:
    """Edit the comment with ``body``'s marker if there is one; never make one."""
    check_body(body)
    existing = find_comment(gh, number, first_line(body))
    if existing is None:
        return Outcome("none")
    comment_id = as_int(existing.get("id"))
    if existing.get("body") == body:
        return Outcome("unchanged", comment_id, str(existing.get("html_url", "")))
    gh.json("PATCH", gh.url(f"/issues/comments/{comment_id}"), json={"body": body}, hint=PR_WRITE)
    return Outcome("updated", comment_id, str(existing.get("html_url", "")))


def merged_pull_request(gh: GitHub, sha: str) -> int | None:
    """The number of the pull request merged as commit ``sha``, if any."""
    pulls = gh.json(
        "GET",
        gh.url(f"/commits/{quote(sha, safe='')}/pulls"),
        hint="the job needs permissions: pull-requests: read",
    )
    if not isinstance(pulls, list):
        return None
    merged = [p for p in pulls if isinstance(p, dict) and p.get("merged_at")]
    return as_int(merged[0].get("number")) if merged else None


def check_body(body: str) -> None:
    if len(body) > BODY_LIMIT:
        raise ValueError(f"a body of {len(body):,} characters is over GitHub's {BODY_LIMIT:,}")


def _is_bot(comment: Mapping[str, Any]) -> bool:
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"

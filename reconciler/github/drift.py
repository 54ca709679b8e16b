"""The drift issue: one issue per marker (its body's first line) and label, opened on drift,
kept up to date, closed with a note when the drift is gone, reopened when it comes back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reconciler.github.comments import Outcome, check_body, first_line, post_or_find
from reconciler.http.github import GitHub, as_int

DRIFT_LABEL = "reconciler-drift"
ISSUES_WRITE = "the job needs permissions: issues: write"


def find_issue(gh: GitHub, marker: str, label: str = DRIFT_LABEL) -> dict[str, Any] | None:
    """The issue (open or closed) with ``label`` whose body starts with ``marker``: the open one
    first, else the most recently updated."""
    found = [
        i
        for i in gh.pages(
            gh.url("/issues"), params={"labels": label, "state": "all"}, hint=ISSUES_WRITE
        )
        if "pull_request" not in i
        and isinstance(i.get("body"), str)
        and first_line(i["body"]) == marker
    ]
    if not found:
        return None
    found.sort(key=lambda i: (i.get("state") == "open", str(i.get("updated_at", ""))))
    return found[-1]


def ensure_label(gh: GitHub, label: str = DRIFT_LABEL) -> None:
    """GitHub drops unknown labels from a new issue silently: make the label first."""
    url = gh.url(f"/labels/{quote(label, safe='')}")
    response = gh.request("GET", url, accept=frozenset({404}), hint=ISSUES_WRITE)
    if response.status_code != 404:
        return
    gh.request(
        "POST",
        gh.url("/labels"),
        json={
            "name": label,
            "color": "d93f0b",
            "description": "The live state differs from the files (reconciler drift check)",
        },
        accept=frozenset({422}),  # made meanwhile by another job
        hint=ISSUES_WRITE,
    )


def sync_drift_issue(
    gh: GitHub,
    *,
    title: str,
    body: str,
    drift: bool,
    closing_note: str,
    label: str = DRIFT_LABEL,
) -> Outcome:
    """One issue per marker (``body``'s first line): opened on drift, kept up to date, closed
    with ``closing_note`` when the drift is gone, reopened when it comes back."""
    check_body(body)
    marker = first_line(body)
    issue = find_issue(gh, marker, label)
    if not drift:
        if issue is None or issue.get("state") != "open":
            return Outcome("none", as_int(issue.get("number")) if issue else None)
        number = as_int(issue.get("number"))
        gh.json(
            "POST",
            gh.url(f"/issues/{number}/comments"),
            json={"body": closing_note},
            hint=ISSUES_WRITE,
        )
        gh.json(
            "PATCH",
            gh.url(f"/issues/{number}"),
            json={"state": "closed", "state_reason": "completed"},
            hint=ISSUES_WRITE,
        )
        return Outcome("closed", number, str(issue.get("html_url", "")))
    if issue is None:
        ensure_label(gh, label)
        made, issue = post_or_find(
            gh,
            "/issues",
            {"title": title, "body": body, "labels": [label]},
            ISSUES_WRITE,
            find=lambda: find_issue(gh, marker, label),
            # an open issue with our text: there was none before the lost POST, so we opened it
            landed=lambda i: (
                (i.get("body"), i.get("title"), i.get("state")) == (body, title, "open")
            ),
        )
        if made:
            return Outcome("opened", as_int(issue.get("number")), str(issue.get("html_url", "")))
    number = as_int(issue.get("number"))
    url = str(issue.get("html_url", ""))
    reopen = issue.get("state") != "open"
    if not reopen and issue.get("body") == body and issue.get("title") == title:
        return Outcome("unchanged", number, url)
    change: dict[str, Any] = {"title": title, "body": body}
    if reopen:
        change["state"] = "open"
    gh.json("PATCH", gh.url(f"/issues/{number}"), json=change, hint=ISSUES_WRITE)
    return Outcome("reopened" if reopen else "updated", number, url)

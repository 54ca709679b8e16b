"""The GitHub side of the flow: the plan comment, the drift issue, the apply report, artifacts.

A small client of the GitHub REST API on ``requests`` (no printing, no argv):

- the token goes out through ``session.auth`` and is never part of an error or a repr; the API
  URL, repository and token come from the variables every Actions job has (``GITHUB_API_URL``,
  ``GITHUB_REPOSITORY``, ``GITHUB_TOKEN`` passed to the step);
- retries, capped in number and in time: 500/502/503/504 and lost connections for GET, PATCH,
  PUT and DELETE; rate limits (403 or 429 with ``Retry-After``, or with
  ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``, or a "secondary rate limit" message)
  for every method, since GitHub refused the request before doing it. A wait longer than
  ``wait_max`` is an error that says how long GitHub asked for, not a silent hour-long sleep;
- a POST is never resent blindly: when its answer is lost the caller looks for what it would
  have made (the comment or issue carries a hidden marker) before trying again;
- lists follow ``Link: rel="next"`` to the last page (same host only, no loops, capped).

The flows on top: ``upsert_comment`` (one comment per marker, edited, never duplicated),
``sync_drift_issue`` (one tracking issue per marker: opened, updated, closed, reopened) and
``download_artifact`` (the newest artifact of a name made by a trusted run on a branch).
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from reconciler import __version__
from reconciler.errors import ConfigError, InputError
from reconciler.http.transport import BearerAuth, HttpError, is_success, origin
from reconciler.settings import Secret

_log = logging.getLogger(__name__)

DEFAULT_API = "https://api.github.com"
BODY_LIMIT = 65_536  # characters in a comment or issue body
DRIFT_LABEL = "reconciler-drift"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})
TRUSTED_EVENTS = frozenset({"push", "schedule", "workflow_dispatch"})
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_MAX_DETAIL = 300


@dataclass(frozen=True)
class GitHubSettings:
    """Timeouts, retries and caps (seconds): defaults for real use; tests scale them down."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 5  # after the first attempt
    backoff_factor: float = 1.0  # waits 1, 2, 4, 8... s (plus jitter) without a hint
    backoff_max: float = 30.0
    secondary_wait: float = 60.0  # "wait at least a minute" for a bare secondary rate limit
    wait_max: float = 120.0  # GitHub asking for a longer wait is an error
    total_wait_max: float = 300.0  # all the waits of one request together
    max_pages: int = 100
    max_download_bytes: int = 256 * 1024 * 1024


class GitHubError(HttpError):
    """A request to GitHub that failed.

    ``maybe_done`` is True when a POST may have been carried out although no success came back
    (a 5xx, or no answer after the request was sent): look before trying again.
    """

    service = "GitHub "

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        detail: str,
        *,
        hint: str = "",
        maybe_done: bool = False,
    ) -> None:
        super().__init__(method, path, status, detail, hint=hint)
        self.maybe_done = maybe_done


class _NoAnswer(GitHubError):
    """No answer came; ``never_sent``: the connection could not even be opened."""

    never_sent = False


# --- the client --------------------------------------------------------------------------------


class GitHub:
    """One repository on one GitHub API (github.com or GitHub Enterprise Server)."""

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: Secret,
        settings: GitHubSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = check_api_url(api_url)
        if not _REPOSITORY.fullmatch(repository):
            raise ConfigError(f"GITHUB_REPOSITORY must be OWNER/NAME, not {repository!r}")
        self.repository = repository
        self.settings = settings if settings is not None else GitHubSettings()
        self._token = token
        self._sleep = sleep
        self._clock = clock
        self.requests_sent = 0
        session = requests.Session()  # trust_env: proxies and CA bundles as in any requests tool
        session.auth = BearerAuth(token)
        session.headers["Accept"] = "application/vnd.github+json"
        session.headers["X-GitHub-Api-Version"] = "2022-11-28"
        session.headers["User-Agent"] = f"reconciler/{__version__}"
        self._session = session

    def __repr__(self) -> str:
        return f"GitHub({self.api_url!r}, {self.repository!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """``/issues/5`` -> ``{api}/repos/{owner}/{name}/issues/5``."""
        return f"{self.api_url}/repos/{self.repository}{path}"

    # --- requests ---

    def request(
        self,
        method: str,
        url: str,
        *,
        hint: str = "",
        accept: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> requests.Response:
        """One call with retries; a status outside 2xx and ``accept`` raises GitHubError."""
        s = self.settings
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            response, error = self._attempt(method, url, **kwargs)
            if response is not None and (is_success(response) or response.status_code in accept):
                return response
            wait, why = self._retry_wait(method, response, error, attempt)
            if wait is None or attempt > s.retries:
                if response is None:
                    assert error is not None
                    raise error
                if wait is not None and response.status_code in (403, 429):
                    hint = f"still rate limited after {s.retries} retries; run it again later"
                raise self._failure(method, url, response, hint)
            if wait > s.wait_max or waited + wait > s.total_wait_max:
                raise self._too_long(method, url, response, wait, why)
            _log.info("GitHub %s %s: %s; retrying in %.1f s", method, _path(url), why, wait)
            self._sleep(wait)
            waited += wait

    def _attempt(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[requests.Response | None, _NoAnswer | None]:
        s = self.settings
        self.requests_sent += 1
        try:
            response = self._session.request(
                method,
                url,
                timeout=(s.connect_timeout, s.read_timeout),
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            never_sent = isinstance(exc, requests.ConnectTimeout) or _refused(exc)
            detail = "no connection" if never_sent else "no answer"
            error = _NoAnswer(
                method,
                _path(url),
                None,
                f"{detail} ({type(exc).__name__})",
                maybe_done=method == "POST" and not never_sent,
            )
            error.never_sent = never_sent
            return None, error
        return response, None

    def _retry_wait(
        self,
        method: str,
        response: requests.Response | None,
        error: _NoAnswer | None,
        attempt: int,
    ) -> tuple[float | None, str]:
        """Seconds to wait before the next attempt, or None: do not retry."""
        backoff = min(
            self.settings.backoff_max,
            self.settings.backoff_factor * 2 ** (attempt - 1) + random.uniform(0, 0.1),
        )
        if response is None:
            never_sent = error is not None and error.never_sent
            if method in IDEMPOTENT or never_sent:
                return backoff, error.detail if error else "no answer"
            return None, ""
        status = response.status_code
        if status in (403, 429):
            hinted = self._rate_limit_wait(response)
            if hinted is not None:
                return hinted, f"{status}: rate limited"
            if "secondary rate limit" in _message(response).lower():
                return max(self.settings.secondary_wait, backoff), f"{status}: secondary rate limit"
            if status == 429:
                return backoff, "429: too many requests"
            return None, ""
        if status in RETRY_STATUSES and method in IDEMPOTENT:
            hinted = self._rate_limit_wait(response)
            return (hinted if hinted is not None else backoff), f"{status}"
        return None, ""

    def _rate_limit_wait(self, response: requests.Response) -> float | None:
        after = response.headers.get("Retry-After")
        if after is not None:
            after = after.strip()
            if after.isdigit():
                return float(after)
            try:
                return max(0.0, parsedate_to_datetime(after).timestamp() - self._clock())
            except (TypeError, ValueError):
                pass
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining == "0" and reset is not None and reset.strip().isdigit():
            return max(0.0, float(reset) - self._clock()) + 1.0
        return None

    def _too_long(
        self,
        method: str,
        url: str,
        response: requests.Response | None,
        wait: float,
        why: str,
    ) -> GitHubError:
        status = response.status_code if response is not None else None
        detail = _message(response) if response is not None else why
        return GitHubError(
            method,
            _path(url),
            status,
            self._redact(detail),
            hint=f"GitHub asks to wait {wait:,.0f} s, longer than this command waits "
            f"({self.settings.wait_max:g} s, {self.settings.total_wait_max:g} s in all); "
            "run it again later",
        )

    def _failure(
        self, method: str, url: str, response: requests.Response, hint: str
    ) -> GitHubError:
        status = response.status_code
        if status == 401:
            hint = "the token is missing, expired or invalid: pass GITHUB_TOKEN to the step"
        elif status == 404:
            hint = f"check GITHUB_REPOSITORY ({self.repository}) and that the token can see it" + (
                f"; {hint}" if hint else ""
            )
        elif 300 <= status < 400:
            hint = f"redirect to {response.headers.get('Location', 'nowhere')} not followed"
        elif status not in (403, 429):
            hint = ""
        return GitHubError(
            method,
            _path(url),
            status,
            self._redact(_message(response)),
            hint=hint,
            maybe_done=method == "POST" and status >= 500,
        )

    def _redact(self, text: str) -> str:
        token = self._token.reveal()
        return text.replace(token, "***") if token else text

    def json(self, method: str, url: str, *, hint: str = "", **kwargs: Any) -> Any:
        response = self.request(method, url, hint=hint, **kwargs)
        return _body(method, url, response)

    def pages(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        key: str | None = None,
        hint: str = "",
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page (``Link: rel="next"``)."""
        seen = set()
        query: Mapping[str, str] | None = {"per_page": "100", **(params or {})}
        for _ in range(self.settings.max_pages):
            seen.add(url)
            response = self.request("GET", url, hint=hint, params=query)
            body = _body("GET", url, response)
            items = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise GitHubError("GET", _path(url), response.status_code, "malformed answer")
            for item in items:
                if isinstance(item, dict):
                    yield item
            link = response.links.get("next", {}).get("url")
            if not link:
                return
            next_url = urljoin(url, link)
            if origin(next_url) != origin(self.api_url):
                raise GitHubError("GET", _path(url), None, "the next page is on another host")
            if next_url in seen:
                raise GitHubError("GET", _path(url), None, "the next page loops to a page seen")
            url, query = next_url, None  # the next link carries the query
        raise GitHubError(
            "GET", _path(url), None, f"more than {self.settings.max_pages} pages; stopped"
        )

    def download(self, url: str, *, hint: str = "") -> bytes:
        """An archive: GitHub answers 302 to storage that must not see the token."""
        response = self.request("GET", url, hint=hint, accept=frozenset({301, 302, 303, 307}))
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location")
            if not location:
                raise GitHubError("GET", _path(url), response.status_code, "redirect to nowhere")
            with requests.Session() as plain:  # no auth: the signed URL is the credential
                plain.headers["User-Agent"] = f"reconciler/{__version__}"
                response = self._fetch_plain(plain, urljoin(url, location))
        data = response.content
        if len(data) > self.settings.max_download_bytes:
            raise GitHubError("GET", _path(url), None, "the archive is too large")
        return data

    def _fetch_plain(self, session: requests.Session, url: str) -> requests.Response:
        s = self.settings
        for attempt in range(1, s.retries + 2):
            try:
                response = session.get(url, timeout=(s.connect_timeout, s.read_timeout))
            except requests.RequestException as exc:
                if attempt > s.retries:
                    raise GitHubError(
                        "GET", "(artifact storage)", None, type(exc).__name__
                    ) from exc
            else:
                if is_success(response):
                    return response
                if response.status_code not in RETRY_STATUSES or attempt > s.retries:
                    detail = _message(response)
                    raise GitHubError("GET", "(artifact storage)", response.status_code, detail)
            self._sleep(min(s.backoff_max, s.backoff_factor * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")


# --- comments ----------------------------------------------------------------------------------

_PR_WRITE = "the job needs permissions: pull-requests: write; a pull request from a fork gets a "
_PR_WRITE += "read-only token"
_ISSUES_WRITE = "the job needs permissions: issues: write"
_ACTIONS_READ = "the job needs permissions: actions: read"


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
    _check_body(body)
    marker = first_line(body)
    existing = find_comment(gh, number, marker)
    if existing is None:
        try:
            made = gh.json(
                "POST", gh.url(f"/issues/{number}/comments"), json={"body": body}, hint=_PR_WRITE
            )
            return Outcome("created", _int(made.get("id")), str(made.get("html_url", "")))
        except GitHubError as exc:
            if not exc.maybe_done:
                raise
            existing = find_comment(gh, number, marker)  # did the lost POST land?
            if existing is None:
                made = gh.json(
                    "POST",
                    gh.url(f"/issues/{number}/comments"),
                    json={"body": body},
                    hint=_PR_WRITE,
                )
                return Outcome("created", _int(made.get("id")), str(made.get("html_url", "")))
    comment_id = _int(existing.get("id"))
    url = str(existing.get("html_url", ""))
    if existing.get("body") == body:
        return Outcome("unchanged", comment_id, url)
    gh.json("PATCH", gh.url(f"/issues/comments/{comment_id}"), json={"body": body}, hint=_PR_WRITE)
    return Outcome("updated", comment_id, url)


def update_comment_if_any(gh: GitHub, number: int, body: str) -> Outcome:
    """Edit the comment with ``body``'s marker if there is one; never make one."""
    _check_body(body)
    existing = find_comment(gh, number, first_line(body))
    if existing is None:
        return Outcome("none")
    comment_id = _int(existing.get("id"))
    if existing.get("body") == body:
        return Outcome("unchanged", comment_id, str(existing.get("html_url", "")))
    gh.json("PATCH", gh.url(f"/issues/comments/{comment_id}"), json={"body": body}, hint=_PR_WRITE)
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
    return _int(merged[0].get("number")) if merged else None


# --- the drift issue ---------------------------------------------------------------------------


def find_issue(gh: GitHub, marker: str, label: str = DRIFT_LABEL) -> dict[str, Any] | None:
    """The issue (open or closed) with ``label`` whose body starts with ``marker``: the open one
    first, else the most recently updated."""
    found = [
        i
        for i in gh.pages(
            gh.url("/issues"), params={"labels": label, "state": "all"}, hint=_ISSUES_WRITE
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
    response = gh.request("GET", url, accept=frozenset({404}), hint=_ISSUES_WRITE)
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
        hint=_ISSUES_WRITE,
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
    _check_body(body)
    marker = first_line(body)
    issue = find_issue(gh, marker, label)
    if not drift:
        if issue is None or issue.get("state") != "open":
            return Outcome("none", _int(issue.get("number")) if issue else None)
        number = _int(issue.get("number"))
        gh.json(
            "POST",
            gh.url(f"/issues/{number}/comments"),
            json={"body": closing_note},
            hint=_ISSUES_WRITE,
        )
        gh.json(
            "PATCH",
            gh.url(f"/issues/{number}"),
            json={"state": "closed", "state_reason": "completed"},
            hint=_ISSUES_WRITE,
        )
        return Outcome("closed", number, str(issue.get("html_url", "")))
    if issue is None:
        ensure_label(gh, label)
        document = {"title": title, "body": body, "labels": [label]}
        try:
            made = gh.json("POST", gh.url("/issues"), json=document, hint=_ISSUES_WRITE)
            return Outcome("opened", _int(made.get("number")), str(made.get("html_url", "")))
        except GitHubError as exc:
            if not exc.maybe_done:
                raise
            issue = find_issue(gh, marker, label)
            if issue is None:
                made = gh.json("POST", gh.url("/issues"), json=document, hint=_ISSUES_WRITE)
                return Outcome("opened", _int(made.get("number")), str(made.get("html_url", "")))
    number = _int(issue.get("number"))
    url = str(issue.get("html_url", ""))
    reopen = issue.get("state") != "open"
    if not reopen and issue.get("body") == body and issue.get("title") == title:
        return Outcome("unchanged", number, url)
    change: dict[str, Any] = {"title": title, "body": body}
    if reopen:
        change["state"] = "open"
    gh.json("PATCH", gh.url(f"/issues/{number}"), json=change, hint=_ISSUES_WRITE)
    return Outcome("reopened" if reopen else "updated", number, url)


# --- artifacts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    run_id: int
    created_at: str
    download_url: str


def trusted_artifact(gh: GitHub, name: str, branch: str) -> Artifact | None:
    """The newest unexpired artifact called ``name`` made on ``branch`` of this repository by a
    run of a trusted event (push, schedule, workflow_dispatch): never by a pull request, whose
    code anyone who opens one controls."""
    candidates = []
    for a in gh.pages(
        gh.url("/actions/artifacts"), params={"name": name}, key="artifacts", hint=_ACTIONS_READ
    ):
        run = a.get("workflow_run") or {}
        if a.get("name") != name or a.get("expired") or not isinstance(run, dict):
            continue
        if run.get("head_branch") != branch:
            continue
        if run.get("head_repository_id") != run.get("repository_id"):
            continue
        candidates.append(a)
    candidates.sort(key=lambda a: (str(a.get("created_at", "")), _int(a.get("id"))), reverse=True)
    for a in candidates:
        run_id = _int((a.get("workflow_run") or {}).get("id"))
        run = gh.json("GET", gh.url(f"/actions/runs/{run_id}"), hint=_ACTIONS_READ)
        if not isinstance(run, dict) or run.get("event") not in TRUSTED_EVENTS:
            continue
        if run.get("head_branch") != branch:
            continue
        return Artifact(
            _int(a.get("id")),
            name,
            run_id,
            str(a.get("created_at", "")),
            str(a.get("archive_download_url") or gh.url(f"/actions/artifacts/{a.get('id')}/zip")),
        )
    return None


def extract(data: bytes, into: Path) -> list[Path]:
    """Unpack a zip archive into ``into``, refusing paths that leave it and links."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError("the artifact is not a zip archive") from None
    written = []
    with archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if not parts or info.filename.startswith("/") or ".." in parts or ":" in parts[0]:
                raise InputError(f"the artifact holds an unsafe path: {info.filename!r}")
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputError(f"the artifact holds a symbolic link: {info.filename!r}")
            target = into.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src:
                target.write_bytes(src.read())
            written.append(target)
    return written


# --- from the Actions environment --------------------------------------------------------------


def check_api_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK:
        return url
    raise ConfigError(f"GITHUB_API_URL must be an https:// URL, not {url!r}")


def from_env(env: Mapping[str, str], settings: GitHubSettings | None = None) -> GitHub:
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise ConfigError(
            "GITHUB_TOKEN is not set: pass it to the step (env: GITHUB_TOKEN: ${{ github.token }})"
        )
    repository = env.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise ConfigError("GITHUB_REPOSITORY is not set (OWNER/NAME): run this in GitHub Actions")
    return GitHub(env.get("GITHUB_API_URL") or DEFAULT_API, repository, Secret(token), settings)


def event(env: Mapping[str, str]) -> dict[str, Any]:
    """The event payload of the run (``GITHUB_EVENT_PATH``); empty outside Actions."""
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"GITHUB_EVENT_PATH: cannot read the event payload ({exc})") from None
    return data if isinstance(data, dict) else {}


def head_sha(payload: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The commit the pull request's author pushed (GITHUB_SHA is GitHub's merge commit)."""
    pr = payload.get("pull_request")
    head = pr.get("head") if isinstance(pr, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    return sha if isinstance(sha, str) and sha else env.get("GITHUB_SHA", "")


def run_url(env: Mapping[str, str]) -> str:
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository, run_id = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    if not (server and repository and run_id and run_id.isdigit()):
        return ""
    return f"{server}/{repository}/actions/runs/{run_id}"


# --- helpers -----------------------------------------------------------------------------------


def _check_body(body: str) -> None:
    if len(body) > BODY_LIMIT:
        raise ValueError(f"a body of {len(body):,} characters is over GitHub's {BODY_LIMIT:,}")


def _is_bot(comment: Mapping[str, Any]) -> bool:
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise GitHubError("GET", "", None, f"malformed answer: {value!r} is not a number") from None


def _body(method: str, url: str, response: requests.Response) -> Any:
    if response.status_code == 204 or not response.content.strip():
        return {}
    try:
        return response.json()
    except ValueError:
        raise GitHubError(
            method, _path(url), response.status_code, "malformed answer: not JSON"
        ) from None


def _message(response: requests.Response) -> str:
    text = response.content[:65536].decode("utf-8", "replace").strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            extra = first.get("message") if isinstance(first, dict) else first
            if isinstance(extra, str) and extra:
                text += f": {extra}"
    elif text.startswith("<"):
        text = ""  # an HTML error page says nothing useful
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path


def _refused(exc: BaseException) -> bool:
    """True when the connection could not be opened at all (the request never left)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError) or type(e).__name__ == "NewConnectionError":
            return True
        stack += [a for a in e.args if isinstance(a, BaseException)]
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
        stack += [c for c in (e.__cause__, e.__context__) if c is not None]
    return False

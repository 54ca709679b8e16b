"""The client of the GitHub REST API, on the one transport (``reconciler.http.transport``).

The transport does the session, the token (never in an error or a repr), timeouts, retries
(500/502/503/504 and lost connections for GET, HEAD, PATCH, PUT and DELETE; never a POST that
may have been done), ``Link: rel="next"`` pages (same host only, no loops, capped), the
no-answer errors and the scrubbing. What is GitHub's stays here:

- its headers, and the URL of one repository on github.com or GitHub Enterprise Server;
- its rate limits: a 403 or 429 with ``Retry-After``, or with ``x-ratelimit-remaining: 0`` and
  ``x-ratelimit-reset``, or a "secondary rate limit" message (no hint: a minute) is retried for
  every method, since GitHub refused the request before doing it. A wait longer than
  ``wait_max`` (or beyond ``total_wait_max`` for one call) is an error that says how long
  GitHub asked for, not a silent hour-long sleep;
- errors that say what to check (the token, ``GITHUB_REPOSITORY``, the job's permissions), and
  ``maybe_done`` when a POST may have been carried out although no success came back;
- artifact archives: GitHub answers with a redirect to storage that must not see the token.

The flows built on it (the plan comment, the drift issue, trusted artifacts, the Actions
environment) are in ``reconciler.github``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from reconciler.errors import ConfigError
from reconciler.http.transport import (
    Answer,
    BearerAuth,
    Client,
    HttpError,
    RetryPolicy,
    Transport,
    TransportSettings,
    Wait,
    is_success,
)
from reconciler.settings import Secret, check_url

DEFAULT_API = "https://api.github.com"
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STORAGE = "(artifact storage)"  # the signed URL is a credential: errors do not show it


@dataclass(frozen=True)
class GitHubSettings(TransportSettings):
    """Timeouts, retries and caps (seconds): defaults for real use; tests scale them down."""

    backoff_factor: float = 0.5  # waits 0, 1, 2, 4, 8... s (plus jitter) without a hint
    backoff_jitter: float = 0.1
    retry_after_max: float = math.inf  # never cut: a wait over wait_max is an error instead
    wait_max: float = 120.0  # GitHub asking for a longer wait is an error
    total_wait_max: float = 300.0  # all the waits of one request together
    max_pages: int = 100
    secondary_wait: float = 60.0  # "wait at least a minute" for a bare secondary rate limit
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


class NoAnswer(GitHubError):
    """No answer came; ``maybe_processed``: the request may have reached GitHub."""

    def __init__(
        self, method: str, path: str, detail: str, *, maybe_processed: bool, hint: str = ""
    ) -> None:
        maybe_done = maybe_processed and method == "POST"
        super().__init__(method, path, None, detail, hint=hint, maybe_done=maybe_done)
        self.maybe_processed = maybe_processed


class RateLimits(RetryPolicy):
    """GitHub's rules on top of the transport's: a 403 or 429 that GitHub marks as a rate
    limit was refused before being done, so it is retried for every method."""

    idempotent = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})
    refusals = frozenset({403, 429})

    def __init__(self, settings: GitHubSettings, *, clock: Callable[[], float] = time.time):
        super().__init__(settings, clock=clock)
        self.secondary_wait = settings.secondary_wait

    def wait(self, answer: Answer) -> Wait | None:
        status = answer.status
        if status not in self.refusals:
            return super().wait(answer)
        hinted = self.hinted(answer)
        if hinted is not None:
            return Wait(hinted, why=f"{status}: rate limited")
        if "secondary rate limit" in answer.text().lower():
            return Wait(at_least=self.secondary_wait, why=f"{status}: secondary rate limit")
        if status == 429:
            return Wait(why="429: too many requests")
        return None  # a plain 403: the token may not do this

    def hinted(self, answer: Answer) -> float | None:
        after = super().hinted(answer)
        if after is not None:
            return after
        remaining = answer.headers.get("x-ratelimit-remaining")
        reset = (answer.headers.get("x-ratelimit-reset") or "").strip()
        if remaining == "0" and reset.isdigit():
            return max(0.0, float(reset) - self.clock()) + 1.0
        return None


def check_api_url(url: str) -> str:
    return check_url(url, "GITHUB_API_URL")


class GitHub(Client):
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
        self.policy = RateLimits(self.settings, clock=clock)
        self.transport = Transport(
            self.api_url,
            self.settings,
            BearerAuth(token),
            what="GITHUB_API_URL",
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
            policy=self.policy,
            error=GitHubError,
            no_answer=NoAnswer,
            sleep=sleep,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"GitHub({self.api_url!r}, {self.repository!r})"

    @property
    def requests_sent(self) -> int:
        return self.transport.request_count

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
        response = self.transport.send(method, url, **kwargs)
        if is_success(response) or response.status_code in accept:
            return response
        raise self._failure(method, url, response, hint)

    def json(self, method: str, url: str, *, hint: str = "", **kwargs: Any) -> Any:
        response = self.request(method, url, hint=hint, **kwargs)
        return self._decode(method, url, response)

    def pages(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        key: str | None = None,
        hint: str = "",
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page (``Link: rel="next"``)."""
        query: dict[str, str] | None = {"per_page": "100", **(params or {})}

        def read(page_url: str) -> tuple[list[dict[str, Any]], str | None]:
            nonlocal query
            response = self.request("GET", page_url, hint=hint, params=query)
            query = None  # the next link carries the query
            body = self._decode("GET", page_url, response)
            items = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(items, list):
                path = self.transport.path(page_url)
                raise GitHubError("GET", path, response.status_code, "malformed answer")
            link = response.links.get("next", {}).get("url")
            return [i for i in items if isinstance(i, dict)], link

        return self.transport.pages(url, read, label="Link rel=next")

    def download(self, url: str, *, hint: str = "") -> bytes:
        """An archive: GitHub answers with a redirect to storage that must not see the token."""
        response = self.request("GET", url, hint=hint, accept=_REDIRECTS)
        if response.status_code in _REDIRECTS:
            location = response.headers.get("Location")
            if not location:
                path = self.transport.path(url)
                raise GitHubError("GET", path, response.status_code, "redirect to nowhere")
            response = self._from_storage(urljoin(url, location))
        data = response.content
        if len(data) > self.settings.max_download_bytes:
            raise GitHubError("GET", self.transport.path(url), None, "the archive is too large")
        return data

    def _from_storage(self, url: str) -> requests.Response:
        """GET a signed URL with no credential but itself; the same retries as any call."""
        try:
            storage = self.transport.derive(url, secrets=[urlsplit(url).query], what="storage")
        except ConfigError:
            raise GitHubError(
                "GET", _STORAGE, None, "redirect to a URL that is not https"
            ) from None
        with storage:
            try:
                response = storage.send("GET", url)
            except HttpError as exc:
                raise GitHubError("GET", _STORAGE, exc.status, exc.detail, hint=exc.hint) from None
            if not is_success(response):
                detail = storage.describe(response)
                raise GitHubError("GET", _STORAGE, response.status_code, detail)
            return response

    # --- errors ---

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
            location = self.transport.scrub(response.headers.get("Location", "nowhere"))
            hint = f"redirect to {location} not followed"
        elif status in self.policy.refusals:
            if self.policy.wait(Answer.of(method, response)) is not None:  # the retries ran out
                hint = (
                    f"still rate limited after {self.settings.retries} retries; run it again later"
                )
        else:
            hint = ""
        return GitHubError(
            method,
            self.transport.path(url),
            status,
            self.transport.describe(response),
            hint=hint,
            maybe_done=method == "POST" and status >= 500,
        )

    def _decode(self, method: str, url: str, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content.strip():
            return {}
        try:
            return response.json()
        except (ValueError, RecursionError):
            path = self.transport.path(url)
            raise GitHubError(
                method, path, response.status_code, "malformed answer: not JSON"
            ) from None


def as_int(value: Any) -> int:
    """A number in GitHub's answer (an id, an issue number), or a clear error."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise GitHubError("GET", "", None, f"malformed answer: {value!r} is not a number") from None

"""What the two HTTP clients (Infracost's API, GitHub's) share: auth, errors, URL helpers."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from reconciler.errors import ReconcilerError
from reconciler.settings import Secret


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` through ``session.auth``, so ``~/.netrc`` cannot replace
    it and no repr shows it; with no token, no header."""

    def __init__(self, token: Secret | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)" if self._token is not None else "BearerAuth(no token)"


class HttpError(ReconcilerError):
    """A request that failed: method, path, status (None: no answer), the server's message."""

    service = ""  # prefixed to the message, e.g. "GitHub "

    def __init__(
        self, method: str, path: str, status: int | None, detail: str, *, hint: str = ""
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        self.hint = hint
        text = f"{self.service}{method} {path}: "
        if status is not None:
            text += status_text(status) + (": " if detail else "")
        text += detail
        if hint:
            text += f" ({hint})"
        super().__init__(text)


def is_success(response: requests.Response) -> bool:
    return 200 <= response.status_code < 300


def status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled: two URLs may share a token only if equal."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default

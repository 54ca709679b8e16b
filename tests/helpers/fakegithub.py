"""A fake GitHub REST API on 127.0.0.1, for ``reconciler github`` and the workflow tests.

It keeps what the flows touch: issues and pull requests (one numbering), their comments,
labels, the pull requests of a commit, workflow runs and their artifacts (the archive answered
by a redirect to "storage" that refuses a token, as the real storage does), the repository's
default branch, and pull requests opened, listed (``head``, ``base``, ``state``), edited and
closed through the pulls API: a second open one from the same head into the same base is a 422
"A pull request already exists", as on GitHub. With ``git_dir`` (a bare repository, the
workflow tests' origin) a new pull request's branches must exist there and differ, and its head
commit follows its branch. Lists are paginated with ``Link`` headers and a small page size, so
one pull request easily has several pages.

Tokens: ``token`` (the job's GITHUB_TOKEN, acting as github-actions[bot]) and any added with
``add_token`` (a GitHub App's or a person's); each request records who made it, and what it
makes (a pull request, a comment) is theirs.

``fail(method, pattern, status, ...)`` scripts answers: 404, 403, secondary rate limits with
``Retry-After`` or ``x-ratelimit-reset``, 5xx, and ``after=True`` (do the work, then answer
with the error: a POST whose answer is lost). ``before(method, pattern, action)`` runs
``action`` just before the next matching request is handled: another client's work in between
(a race). Every request is recorded.
"""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from reconciler.http import github
from reconciler.sandbox.server import start

# The settings a client under test uses against the fake: short timeouts, waits of milliseconds.
FAST = github.GitHubSettings(
    connect_timeout=2, read_timeout=5, retries=3, backoff_factor=0.01, wait_max=30
)

BODY_LIMIT = 65_536
_EPOCH = datetime(2026, 1, 1)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int
    after: bool


@dataclass
class Hook:
    method: str
    pattern: re.Pattern[str]
    action: Callable[[], object]


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    authorized: bool
    status: int = 0
    login: str = ""  # whose token it carried


@dataclass
class State:
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # and pull requests
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    artifacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[int, bytes] = field(default_factory=dict)


class FakeGitHub:
    REPO_ID = 1001
    ACTIONS_BOT = "github-actions[bot]"

    def __init__(self, repository: str = "acme/policies", token: str = "ghs_" + "f" * 36) -> None:
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self.token = token
        self.tokens = {token: self.ACTIONS_BOT}  # token -> login
        self.default_branch = "main"
        self.git_dir: Path | None = None  # a bare repository that holds the branches
        self.page_size = 2  # per_page is capped at this: pagination shows up with few items
        self.state = State()
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.hooks: list[Hook] = []
        self.url = ""
        self._ids = itertools.count(9001)
        self._numbers = itertools.count(1)
        self._lock = threading.RLock()
        self.app = self._make_app()

    # --- set-up and inspection ---

    def add_pull_request(self, head_sha: str = "a" * 40, *, fork: bool = False) -> int:
        number = next(self._numbers)
        head_repo = "someone/policies" if fork else self.repository
        self.state.issues[number] = {
            "number": number,
            "pull_request": {"url": ""},
            "state": "open",
            "title": f"PR {number}",
            "body": "",
            "labels": [],
            "head": {"sha": head_sha, "repo": {"full_name": head_repo}},
            "merged_at": None,
        }
        return number

    def add_token(self, token: str, login: str) -> None:
        """Another token GitHub accepts: a GitHub App's (``name[bot]``) or a person's."""
        self.tokens[token] = login

    def open_pull(
        self,
        branch: str,
        *,
        base: str = "main",
        title: str = "",
        body: str = "",
        login: str = "someone",
        head_repository: str | None = None,
    ) -> int:
        """A pull request from ``branch`` (of this repository, or of ``head_repository``)."""
        number = next(self._numbers)
        head_repo = head_repository or self.repository
        self.state.issues[number] = {
            "number": number,
            "pull_request": {"url": f"{self.url}/repos/{self.repository}/pulls/{number}"},
            "state": "open",
            "title": title or f"PR {number}",
            "body": body,
            "labels": [],
            "head": {
                "ref": branch,
                "label": f"{head_repo.split('/', 1)[0]}:{branch}",
                "sha": self._branch_sha(branch) if head_repo == self.repository else "b" * 40,
                "repo": {"full_name": head_repo},
            },
            "base": {"ref": base, "repo": {"full_name": self.repository}},
            "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
            "merged_at": None,
            "updated_at": f"2026-01-01T01:{number % 60:02d}:00Z",
            "html_url": f"https://github.example/{self.repository}/pull/{number}",
        }
        return number

    def pulls(self, *, state: str = "all") -> list[dict[str, Any]]:
        """The pull requests opened through the pulls API or ``open_pull``, oldest first."""
        return [
            i
            for _, i in sorted(self.state.issues.items())
            if "base" in i and (state == "all" or i["state"] == state)
        ]

    def merge(self, number: int, merge_sha: str) -> None:
        pr = self.state.issues[number]
        pr["merged_at"] = "2026-01-01T00:00:00Z"
        pr["state"] = "closed"
        self.state.commit_pulls.setdefault(merge_sha, []).append(number)

    def add_comment(self, number: int, body: str, *, bot: bool = False) -> int:
        comment_id = next(self._ids)
        self.state.comments[comment_id] = {
            "id": comment_id,
            "issue": number,
            "body": body,
            "user": {
                "login": "github-actions[bot]" if bot else "someone",
                "type": "Bot" if bot else "User",
            },
            "created_at": f"2026-01-01T00:00:{comment_id % 60:02d}Z",
            "html_url": f"https://github.example/{self.repository}/pull/{number}#issuecomment-{comment_id}",
        }
        return comment_id

    def comments(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.state.comments.values() if c["issue"] == number]

    def issues(self) -> list[dict[str, Any]]:
        return [i for i in self.state.issues.values() if "pull_request" not in i]

    def add_run(self, *, event: str = "push", branch: str = "main", fork: bool = False) -> int:
        run_id = next(self._ids)
        self.state.runs[run_id] = {
            "id": run_id,
            "event": event,
            "head_branch": branch,
            "repository": {"id": self.REPO_ID},
            "head_repository": {"id": self.REPO_ID + (1 if fork else 0)},
        }
        return run_id

    def add_artifact(self, run_id: int, name: str, files: dict[str, bytes]) -> int:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path, data in files.items():
                archive.writestr(path, data)
        return self.add_archive(run_id, name, buffer.getvalue())

    def add_archive(self, run_id: int, name: str, data: bytes, *, expired: bool = False) -> int:
        artifact_id = next(self._ids)
        run = self.state.runs[run_id]
        self.state.artifacts[artifact_id] = {
            "id": artifact_id,
            "name": name,
            "expired": expired,
            "created_at": (_EPOCH + timedelta(minutes=artifact_id)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "archive_download_url": f"{self.url}/repos/{self.repository}/actions/artifacts/"
            f"{artifact_id}/zip",
            "workflow_run": {
                "id": run_id,
                "repository_id": self.REPO_ID,
                "head_repository_id": run["head_repository"]["id"],
                "head_branch": run["head_branch"],
            },
        }
        self.state.blobs[artifact_id] = data
        return artifact_id

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        message: str = "",
        times: int = 1,
        after: bool = False,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        """The next ``times`` matching requests get ``status`` (``after``: once done)."""
        body: dict[str, Any] = {"message": message or _REASONS.get(status, "error")}
        if errors is not None:
            body["errors"] = errors
        self.faults.append(
            Fault(method, re.compile(pattern), status, headers or {}, body, times, after)
        )

    def before(self, method: str, pattern: str, action: Callable[[], object]) -> None:
        """Run ``action`` just before the next request that matches is handled (once)."""
        self.hooks.append(Hook(method, re.compile(pattern), action))

    def sent(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    # --- the app ---

    def _make_app(self) -> Flask:
        app = Flask("fake-github")
        repo = re.escape(self.repository)
        routes: list[tuple[str, re.Pattern[str], Any]] = [
            ("GET", re.compile(rf"/repos/{repo}"), self._repository),
            ("GET", re.compile(rf"/repos/{repo}/pulls"), self._list_pulls),
            ("POST", re.compile(rf"/repos/{repo}/pulls"), self._add_pull),
            ("GET", re.compile(rf"/repos/{repo}/pulls/(\d+)"), self._get_pull),
            ("PATCH", re.compile(rf"/repos/{repo}/pulls/(\d+)"), self._edit_pull),
            ("GET", re.compile(rf"/repos/{repo}/issues/(\d+)/comments"), self._list_comments),
            ("POST", re.compile(rf"/repos/{repo}/issues/(\d+)/comments"), self._add_comment),
            ("PATCH", re.compile(rf"/repos/{repo}/issues/comments/(\d+)"), self._edit_comment),
            ("GET", re.compile(rf"/repos/{repo}/issues"), self._list_issues),
            ("POST", re.compile(rf"/repos/{repo}/issues"), self._add_issue),
            ("PATCH", re.compile(rf"/repos/{repo}/issues/(\d+)"), self._edit_issue),
            ("GET", re.compile(rf"/repos/{repo}/labels/([^/]+)"), self._get_label),
            ("POST", re.compile(rf"/repos/{repo}/labels"), self._add_label),
            ("GET", re.compile(rf"/repos/{repo}/commits/([0-9a-f]+)/pulls"), self._pulls),
            ("GET", re.compile(rf"/repos/{repo}/actions/artifacts"), self._artifacts),
            ("GET", re.compile(rf"/repos/{repo}/actions/artifacts/(\d+)/zip"), self._archive),
            ("GET", re.compile(rf"/repos/{repo}/actions/runs/(\d+)"), self._run),
            ("GET", re.compile(r"/_storage/(\d+)"), self._storage),
        ]

        @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        @app.route("/<path:path>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        def dispatch(path: str) -> Response:
            with self._lock:
                return self._dispatch(routes)

        return app

    def _dispatch(self, routes: list[tuple[str, re.Pattern[str], Any]]) -> Response:
        path = request.path
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        login = self.tokens.get(token, "") if scheme in ("Bearer", "token") else ""
        authorized = bool(login)
        record = Recorded(request.method, path, request.query_string.decode(), authorized)
        record.login = login
        self.requests.append(record)
        hook = next(
            (h for h in self.hooks if h.method == request.method and h.pattern.search(path)), None
        )
        if hook is not None:
            self.hooks.remove(hook)
            hook.action()
        fault = next(
            (
                f
                for f in self.faults
                if f.times > 0 and f.method == request.method and f.pattern.search(path)
            ),
            None,
        )
        if fault is not None and not fault.after:
            fault.times -= 1
            return self._answer(record, fault.body, fault.status, fault.headers)
        if not path.startswith("/_storage/") and not authorized:
            return self._answer(record, {"message": "Bad credentials"}, 401)
        for method, pattern, handler in routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                body, status, headers = handler(*match.groups())
                break
        else:
            body, status, headers = {"message": "Not Found"}, 404, {}
        if fault is not None:  # the work is done, the answer is lost
            fault.times -= 1
            return self._answer(record, fault.body, fault.status, fault.headers)
        return self._answer(record, body, status, headers)

    def _answer(
        self, record: Recorded, body: Any, status: int, headers: dict[str, str] | None = None
    ) -> Response:
        record.status = status
        if isinstance(body, bytes):
            response = Response(body, status, content_type="application/zip")
        elif body is None:
            response = Response(b"", status)
        else:
            response = app_json(body, status)
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def _page(self, items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        per_page = min(int(request.args.get("per_page", 30)), self.page_size)
        page = int(request.args.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            query = {k: v for k, v in request.args.items() if k != "page"}
            query["page"] = str(page + 1)
            headers["Link"] = f'<{self.url}{request.path}?{urlencode(query)}>; rel="next"'
        return chunk, headers

    # --- handlers: (body, status, headers) ---

    def _list_comments(self, number: str) -> tuple[Any, int, dict[str, str]]:
        if int(number) not in self.state.issues:
            return {"message": "Not Found"}, 404, {}
        items = sorted(self.comments(int(number)), key=lambda c: c["id"])
        chunk, headers = self._page(items)
        return chunk, 200, headers

    def _add_comment(self, number: str) -> tuple[Any, int, dict[str, str]]:
        if int(number) not in self.state.issues:
            return {"message": "Not Found"}, 404, {}
        body = (request.get_json(silent=True) or {}).get("body", "")
        if len(body) > BODY_LIMIT:
            return _too_long(), 422, {}
        comment_id = self.add_comment(int(number), body, bot=True)
        comment = self.state.comments[comment_id]
        login = self.requests[-1].login
        comment["user"] = {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"}
        return comment, 201, {}

    def _edit_comment(self, comment_id: str) -> tuple[Any, int, dict[str, str]]:
        comment = self.state.comments.get(int(comment_id))
        if comment is None:
            return {"message": "Not Found"}, 404, {}
        body = (request.get_json(silent=True) or {}).get("body", "")
        if len(body) > BODY_LIMIT:
            return _too_long(), 422, {}
        comment["body"] = body
        comment["edits"] = comment.get("edits", 0) + 1
        return comment, 200, {}

    def _list_issues(self) -> tuple[Any, int, dict[str, str]]:
        state = request.args.get("state", "open")
        labels = set(filter(None, request.args.get("labels", "").split(",")))
        items = [
            i
            for i in sorted(self.state.issues.values(), key=lambda i: -i["number"])
            if (state == "all" or i["state"] == state)
            and labels <= {label["name"] for label in i["labels"]}
        ]
        chunk, headers = self._page(items)
        return chunk, 200, headers

    def _add_issue(self) -> tuple[Any, int, dict[str, str]]:
        data = request.get_json(silent=True) or {}
        if len(data.get("body", "")) > BODY_LIMIT:
            return _too_long(), 422, {}
        number = next(self._numbers)
        self.state.issues[number] = {
            "number": number,
            "state": "open",
            "title": data.get("title", ""),
            "body": data.get("body", ""),
            # like GitHub: a label that does not exist is dropped silently
            "labels": [{"name": n} for n in data.get("labels", []) if n in self.state.labels],
            "updated_at": f"2026-01-01T00:{number % 60:02d}:00Z",
            "html_url": f"https://github.example/{self.repository}/issues/{number}",
        }
        return self.state.issues[number], 201, {}

    def _edit_issue(self, number: str) -> tuple[Any, int, dict[str, str]]:
        issue = self.state.issues.get(int(number))
        if issue is None:
            return {"message": "Not Found"}, 404, {}
        data = request.get_json(silent=True) or {}
        if len(data.get("body", "")) > BODY_LIMIT:
            return _too_long(), 422, {}
        for key in ("title", "body", "state"):
            if key in data:
                issue[key] = data[key]
        return issue, 200, {}

    def _get_label(self, name: str) -> tuple[Any, int, dict[str, str]]:
        if name not in self.state.labels:
            return {"message": "Not Found"}, 404, {}
        return {"name": name}, 200, {}

    def _add_label(self) -> tuple[Any, int, dict[str, str]]:
        name = (request.get_json(silent=True) or {}).get("name", "")
        if name in self.state.labels:
            return {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}, 422, {}
        self.state.labels.add(name)
        return {"name": name}, 201, {}

    def _pulls(self, sha: str) -> tuple[Any, int, dict[str, str]]:
        numbers = self.state.commit_pulls.get(sha, [])
        return [self.state.issues[n] for n in numbers], 200, {}

    # --- the repository and its pull requests ---

    def _repository(self) -> tuple[Any, int, dict[str, str]]:
        return (
            {
                "id": self.REPO_ID,
                "full_name": self.repository,
                "default_branch": self.default_branch,
                "html_url": f"https://github.example/{self.repository}",
            },
            200,
            {},
        )

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.git_dir is not None
        return subprocess.run(
            ["git", "--git-dir", str(self.git_dir), *args], capture_output=True, text=True
        )

    def _branch_sha(self, branch: str) -> str | None:
        """The branch's commit in ``git_dir`` (None: no such branch); without one, a made-up
        commit."""
        if self.git_dir is None:
            return "0" * 40
        found = self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
        return found.stdout.strip() if found.returncode == 0 else None

    def _pull_view(self, pull: dict[str, Any]) -> dict[str, Any]:
        """As GitHub shows it: the head commit is where its branch is now."""
        if self.git_dir is not None and pull["head"]["repo"]["full_name"] == self.repository:
            pull["head"]["sha"] = self._branch_sha(pull["head"]["ref"]) or pull["head"]["sha"]
        return pull

    def _list_pulls(self) -> tuple[Any, int, dict[str, str]]:
        state = request.args.get("state", "open")
        head = request.args.get("head")
        base = request.args.get("base")
        items = [
            self._pull_view(p)
            for p in reversed(self.pulls())  # newest first, as GitHub sorts by default
            if (state == "all" or p["state"] == state)
            and (head is None or p["head"]["label"] == head)
            and (base is None or p["base"]["ref"] == base)
        ]
        chunk, headers = self._page(items)
        return chunk, 200, headers

    def _get_pull(self, number: str) -> tuple[Any, int, dict[str, str]]:
        pull = self.state.issues.get(int(number))
        if pull is None or "base" not in pull:
            return {"message": "Not Found"}, 404, {}
        return self._pull_view(pull), 200, {}

    def _add_pull(self) -> tuple[Any, int, dict[str, str]]:
        data = request.get_json(silent=True) or {}
        for key in ("title", "head", "base"):
            if not isinstance(data.get(key), str) or not data[key]:
                return _invalid(key, "missing_field"), 422, {}
        if len(data.get("body") or "") > BODY_LIMIT:
            return _too_long(), 422, {}
        owner, _, branch = data["head"].rpartition(":")
        if owner not in ("", self.owner):
            return _invalid("head", "invalid"), 422, {}
        base = data["base"]
        head_sha, base_sha = self._branch_sha(branch), self._branch_sha(base)
        if head_sha is None:
            return _invalid("head", "invalid"), 422, {}
        if base_sha is None:
            return _invalid("base", "invalid"), 422, {}
        for pull in self.pulls(state="open"):
            if pull["head"]["label"] == f"{self.owner}:{branch}" and pull["base"]["ref"] == base:
                message = f"A pull request already exists for {self.owner}:{branch}."
                return _custom(message), 422, {}
        if self.git_dir is not None:
            ahead = self._git("rev-list", "--count", f"{base_sha}..{head_sha}").stdout.strip()
            if ahead == "0":
                return _custom(f"No commits between {base} and {branch}"), 422, {}
        number = self.open_pull(
            branch,
            base=base,
            title=data["title"],
            body=data.get("body") or "",
            login=self.requests[-1].login,
        )
        return self.state.issues[number], 201, {}

    def _edit_pull(self, number: str) -> tuple[Any, int, dict[str, str]]:
        pull = self.state.issues.get(int(number))
        if pull is None or "base" not in pull:
            return {"message": "Not Found"}, 404, {}
        data = request.get_json(silent=True) or {}
        if len(data.get("body") or "") > BODY_LIMIT:
            return _too_long(), 422, {}
        if "base" in data:
            if self._branch_sha(data["base"]) is None:
                return _invalid("base", "invalid"), 422, {}
            pull["base"]["ref"] = data["base"]
        if data.get("state") not in (None, "open", "closed"):
            return _invalid("state", "invalid"), 422, {}
        for key in ("title", "body", "state"):
            if key in data:
                pull[key] = data[key]
        pull["edits"] = pull.get("edits", 0) + 1
        return self._pull_view(pull), 200, {}

    def _artifacts(self) -> tuple[Any, int, dict[str, str]]:
        name = request.args.get("name")
        items = [
            a
            for a in sorted(self.state.artifacts.values(), key=lambda a: -a["id"])
            if name is None or a["name"] == name
        ]
        chunk, headers = self._page(items)
        return {"total_count": len(items), "artifacts": chunk}, 200, headers

    def _archive(self, artifact_id: str) -> tuple[Any, int, dict[str, str]]:
        if int(artifact_id) not in self.state.blobs:
            return {"message": "Not Found"}, 404, {}
        return None, 302, {"Location": f"{self.url}/_storage/{artifact_id}?sig=signed"}

    def _run(self, run_id: str) -> tuple[Any, int, dict[str, str]]:
        run = self.state.runs.get(int(run_id))
        if run is None:
            return {"message": "Not Found"}, 404, {}
        return run, 200, {}

    def _storage(self, artifact_id: str) -> tuple[Any, int, dict[str, str]]:
        if "Authorization" in request.headers:  # signed URLs refuse a second credential
            return (
                {"message": "Authentication information is not given in the correct format"},
                400,
                {},
            )
        return self.state.blobs[int(artifact_id)], 200, {}


def app_json(body: Any, status: int) -> Response:
    import json

    return Response(json.dumps(body), status, content_type="application/json")


def _too_long() -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [{"message": "body is too long (maximum is 65536 characters)"}],
    }


def _invalid(field: str, code: str) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "field": field, "code": code}],
    }


def _custom(message: str) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
    }


_REASONS = {
    403: "Resource not accessible by integration",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@contextmanager
def serve(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    with start(fake.app, "127.0.0.1", 0) as server:
        fake.url = server.url
        yield fake

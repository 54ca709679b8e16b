"""What comes from the GitHub Actions environment: the API client (``GITHUB_API_URL``,
``GITHUB_REPOSITORY``, the ``GITHUB_TOKEN`` passed to the step), the event payload, the commit
a pull request's author pushed, and the URL of the run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError, InputError
from reconciler.github import pulls
from reconciler.http.github import DEFAULT_API, GitHub, GitHubSettings
from reconciler.settings import Secret


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


def default_branch(gh: GitHub, env: Mapping[str, str]) -> str:
    """The repository's default branch: from the event payload (every event but ``schedule``
    carries the repository), else from the API."""
    repository = event(env).get("repository")
    branch = repository.get("default_branch") if isinstance(repository, dict) else None
    if isinstance(branch, str) and branch:
        return branch
    branch = pulls.default_branch(gh)
    if not branch:
        raise InputError(f"GitHub names no default branch for {gh.repository}: pass --branch")
    return branch


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

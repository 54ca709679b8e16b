"""reconciler github comment|drift-issue|apply-report|download|pull-request: the GitHub Actions
side.

Each reads the job's environment (``GITHUB_API_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_TOKEN``
given to the step, ``GITHUB_EVENT_PATH``, ``GITHUB_SHA``) and, where a later step needs them,
appends outputs to ``GITHUB_OUTPUT``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.context import Context
from reconciler.errors import UsageError

if TYPE_CHECKING:
    from reconciler.model import Plan

HELP = (
    "GitHub Actions: the pull-request plan comment, the drift issue, the apply report, the "
    "pull workflow's pull request"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="github_command", metavar="SUBCOMMAND", required=True)
    comment = sub.add_parser(
        "comment",
        help="post or update the plan comment of a pull request (one per directory and org)",
        description="Post the plan as a pull-request comment, or edit the one posted before "
        "(found by its hidden marker, per directory and org, over every page of comments). "
        "The comment says which commit it was planned at.",
    )
    comment.add_argument("--plan", metavar="FILE", required=True, help="a plan file from plan -o")
    comment.add_argument(
        "--pr", type=int, metavar="N", help="the pull request (default: from the event payload)"
    )
    _global_flags(comment)
    drift = sub.add_parser(
        "drift-issue",
        help="open, update or close the drift issue of a directory from a plan file",
        description="Open an issue when the plan shows drift, keep it up to date on later "
        "runs, and close it when a plan shows none. One issue per directory and org, found by "
        "its label and hidden marker; it is reopened if drift comes back.",
    )
    drift.add_argument("--plan", metavar="FILE", required=True, help="a plan file from plan -o")
    drift.add_argument(
        "--fail-on-unmanaged",
        action="store_true",
        help="unmanaged live objects count as drift (as with plan --fail-on-unmanaged)",
    )
    _global_flags(drift)
    report = sub.add_parser(
        "apply-report",
        help="print an apply's event log as markdown, or comment on the merged pull request",
        description="Print the report of an apply (apply --format json) as markdown for the "
        "job summary. With --comment, post it on the pull request merged as GITHUB_SHA when "
        "the apply failed, or update that comment after a later success, and print only what "
        "it did.",
    )
    report.add_argument(
        "--events", metavar="FILE", required=True, help="the event log of apply --format json"
    )
    report.add_argument(
        "--exit-code", type=int, metavar="N", required=True, help="the exit code of apply"
    )
    report.add_argument("--dir", metavar="DIR", required=True, help="the directory applied")
    report.add_argument(
        "--comment", action="store_true", help="comment on the merged pull request instead"
    )
    _global_flags(report)
    download = sub.add_parser(
        "download",
        help="fetch the newest artifact of a name made on a branch by a trusted run",
        description="Download and unpack the newest unexpired artifact called NAME that a "
        "push, schedule or manual run on BRANCH of this repository made (never a pull "
        "request's). Used for the live snapshot and the state that runs carry over.",
    )
    download.add_argument("--name", metavar="NAME", required=True, help="the artifact's name")
    download.add_argument("--into", metavar="DIR", required=True, help="unpack into DIR")
    download.add_argument("--branch", help="the branch (default: the repository's default branch)")
    download.add_argument(
        "--missing-ok", action="store_true", help="no such artifact yet is not an error"
    )
    _global_flags(download)
    pulls = sub.add_parser(
        "pull-request",
        help="open, update or close the one pull request of a branch (the pull workflow)",
        description="Make sure exactly one open pull request from BRANCH into BASE exists, with "
        "TITLE and the body of FILE: opened if there is none, edited if its title or body "
        "differ, left alone if they are equal. With --close, close the open pull request from "
        "BRANCH, if any, after posting --comment. It is found by its head branch, never "
        "twice. Prints one line: opened #N URL, updated #N, unchanged #N, closed #N or none. "
        "The token (GITHUB_TOKEN) needs contents: write and pull-requests: write.",
    )
    pulls.add_argument(
        "--branch", metavar="BRANCH", required=True, help="the head branch (of this repository)"
    )
    pulls.add_argument(
        "--base",
        metavar="BASE",
        help="the branch to merge into (default: the repository's default branch, or "
        "GITHUB_REF_NAME); with --close, only pull requests into BASE",
    )
    pulls.add_argument("--title", metavar="TITLE", help="the title (required unless --close)")
    pulls.add_argument(
        "--body-file",
        metavar="FILE",
        help="the body, e.g. the output of pull --format markdown (required unless --close)",
    )
    pulls.add_argument(
        "--close", action="store_true", help="close the open pull request from BRANCH, if any"
    )
    pulls.add_argument(
        "--comment", metavar="TEXT", help="with --close: a comment posted before closing"
    )
    _global_flags(pulls)


def _global_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--org", metavar="SLUG", default=argparse.SUPPRESS, help="Infracost org slug"
    )
    for flag, text in (("--no-color", "never colour the output"), ("--debug", "show tracebacks")):
        group.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=text)


@dataclass(frozen=True)
class CommentParams:
    plan: str
    pr: int | None


@dataclass(frozen=True)
class DriftIssueParams:
    plan: str
    fail_on_unmanaged: bool


@dataclass(frozen=True)
class ApplyReportParams:
    events: str
    exit_code: int
    dir: str  # as given: the report shows it
    comment: bool


@dataclass(frozen=True)
class DownloadParams:
    name: str
    into: str  # as given: the report shows it
    branch: str | None  # None: the repository's default branch
    missing_ok: bool


@dataclass(frozen=True)
class PullRequestParams:
    branch: str
    base: str | None
    title: str | None  # None with close
    body_file: str | None  # None with close
    close: bool
    comment: str | None


Params = CommentParams | DriftIssueParams | ApplyReportParams | DownloadParams | PullRequestParams

_BRANCH = re.compile(r"(?![-/.])(?!.*(?:\.\.|//|@\{|\.lock(?:/|$)))[A-Za-z0-9._/@+-]+(?<![/.])")


def from_args(args: argparse.Namespace) -> Params:
    command: str = args.github_command
    if command == "comment":
        return CommentParams(plan=args.plan, pr=args.pr)
    if command == "drift-issue":
        return DriftIssueParams(plan=args.plan, fail_on_unmanaged=args.fail_on_unmanaged)
    if command == "apply-report":
        return ApplyReportParams(
            events=args.events, exit_code=args.exit_code, dir=args.dir, comment=args.comment
        )
    if command == "pull-request":
        return _pull_request_params(args)
    return DownloadParams(
        name=args.name, into=args.into, branch=args.branch, missing_ok=args.missing_ok
    )


def _pull_request_params(args: argparse.Namespace) -> PullRequestParams:
    for flag, value in (("--branch", args.branch), ("--base", args.base)):
        if value is not None and not _BRANCH.fullmatch(value):
            raise UsageError(f"{flag}: {value!r} is not a branch name")
    if args.close:
        given = [f for f, v in (("--title", args.title), ("--body-file", args.body_file)) if v]
        if given:
            raise UsageError(f"--close takes no {' or '.join(given)}: it closes, it does not edit")
    else:
        missing = [
            f for f, v in (("--title", args.title), ("--body-file", args.body_file)) if not v
        ]
        if missing:
            are = "is" if len(missing) == 1 else "are"
            raise UsageError(f"{' and '.join(missing)} {are} required unless --close")
        if args.comment is not None:
            raise UsageError("--comment goes with --close")
        if not args.title.strip():
            raise UsageError("--title is empty")
    return PullRequestParams(
        branch=args.branch,
        base=args.base,
        title=args.title.strip() if args.title else None,
        body_file=args.body_file,
        close=args.close,
        comment=args.comment or None,
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(from_args(args), ctx)


def execute(params: Params, ctx: Context) -> int:
    if isinstance(params, CommentParams):
        return _comment(params, ctx)
    if isinstance(params, DriftIssueParams):
        return _drift_issue(params, ctx)
    if isinstance(params, ApplyReportParams):
        return _apply_report(params, ctx)
    if isinstance(params, PullRequestParams):
        return _pull_request(params, ctx)
    return _download(params, ctx)


# --- the sub-commands ------------------------------------------------------------------------


def _comment(params: CommentParams, ctx: Context) -> int:
    from reconciler import planfile
    from reconciler.commands._common import comment_links
    from reconciler.github import actions, comments
    from reconciler.render import markdown

    plan, _ = planfile.load(ctx.cwd / params.plan)
    payload = actions.event(ctx.env)
    number = params.pr if params.pr is not None else _pull_request_number(payload)
    if number is None:
        raise UsageError(
            "no pull request: run on a pull_request event or pass --pr N "
            "(the event payload, GITHUB_EVENT_PATH, names none)"
        )
    body = markdown.render(plan, links=comment_links(ctx))
    with actions.from_env(ctx.env) as gh:
        outcome = comments.upsert_comment(gh, number, body)
    verb = {"created": "Posted", "updated": "Updated", "unchanged": "Unchanged:"}[outcome.action]
    print(f"{verb} the plan comment on pull request #{number}: {outcome.url}", file=ctx.stdout)
    _set_outputs(ctx.env, {"comment-url": outcome.url, "comment-action": outcome.action})
    return 0


def _drift_issue(params: DriftIssueParams, ctx: Context) -> int:
    from reconciler import planfile
    from reconciler.github import actions
    from reconciler.github import drift as drift_issue
    from reconciler.render import github as render

    plan, _ = planfile.load(ctx.cwd / params.plan)
    drift = is_drift(plan, fail_on_unmanaged=params.fail_on_unmanaged)
    commit = ctx.env.get("GITHUB_SHA", "")
    url = actions.run_url(ctx.env)
    with actions.from_env(ctx.env) as gh:
        branch = ctx.env.get("GITHUB_REF_NAME") or actions.default_branch(gh, ctx.env)
        outcome = drift_issue.sync_drift_issue(
            gh,
            title=render.drift_title(plan),
            body=render.drift_body(plan, commit=commit, run_url=url, branch=branch),
            drift=drift,
            closing_note=render.drift_closing_note(commit=commit, run_url=url),
        )
    number = f" #{outcome.number}" if outcome.number is not None else ""
    messages = {
        "opened": f"Drift: opened issue{number}",
        "updated": f"Drift: updated issue{number}",
        "unchanged": f"Drift: issue{number} is up to date",
        "reopened": f"Drift: reopened issue{number}",
        "closed": f"No drift: closed issue{number}",
        "none": "No drift: no open drift issue",
    }
    tail = f": {outcome.url}" if outcome.url else "."
    print(messages[outcome.action] + tail, file=ctx.stdout)
    _set_outputs(
        ctx.env,
        {
            "drift": str(drift).lower(),
            "changes": str(plan.has_changes or bool(plan.errors)).lower(),
            "issue": str(outcome.number or ""),
        },
    )
    return 0


def is_drift(plan: Plan, *, fail_on_unmanaged: bool) -> bool:
    """What the drift issue tracks: changes, a refused plan, or (if asked) unmanaged objects."""
    return plan.has_changes or bool(plan.errors) or (fail_on_unmanaged and bool(plan.unmanaged))


def _apply_report(params: ApplyReportParams, ctx: Context) -> int:
    from reconciler.github import actions, comments
    from reconciler.render import github as render

    _register_secrets(ctx.cwd / params.dir, ctx.env)
    events = _read_events(ctx.cwd / params.events)
    commit = ctx.env.get("GITHUB_SHA", "")
    report = render.apply_report(
        events,
        exit_code=params.exit_code,
        directory=params.dir,
        org=_org(params.dir, ctx),
        commit=commit,
        run_url=actions.run_url(ctx.env),
        marker=params.comment,
    )
    if not params.comment:
        print(report, file=ctx.stdout)
        return 0
    if not commit:
        raise UsageError("GITHUB_SHA is not set: which commit was applied?")
    with actions.from_env(ctx.env) as gh:
        number = comments.merged_pull_request(gh, commit)
        if number is None:
            print(f"No pull request was merged as {commit}: no comment.", file=ctx.stdout)
            return 0
        if params.exit_code != 0:
            outcome = comments.upsert_comment(gh, number, report)
        else:  # a later success edits the failure report, and never adds a comment
            outcome = comments.update_comment_if_any(gh, number, report)
    if outcome.action == "none":
        print(f"Nothing to report on pull request #{number}.", file=ctx.stdout)
    else:
        print(
            f"Apply report {outcome.action} on pull request #{number}: {outcome.url}",
            file=ctx.stdout,
        )
    return 0


def _download(params: DownloadParams, ctx: Context) -> int:
    from reconciler.errors import InputError
    from reconciler.github import actions, artifacts

    into = ctx.cwd / params.into
    with actions.from_env(ctx.env) as gh:
        branch = params.branch or actions.default_branch(gh, ctx.env)
        artifact = artifacts.trusted_artifact(gh, params.name, branch)
        if artifact is None:
            _set_outputs(ctx.env, {"found": "false"})
            message = (
                f"no artifact {params.name!r} from a push, schedule or manual run on "
                f"{branch} (or all have expired)"
            )
            if not params.missing_ok:
                raise InputError(
                    f"{message}: run the apply or drift workflow on {branch} once "
                    "(Actions > Run workflow) to make it"
                )
            print(f"No {message[3:]}; going on without it.", file=ctx.stdout)
            return 0
        data = artifacts.download(gh, artifact)
    files = artifacts.extract(data, into)
    print(
        f"Downloaded {artifact.name} ({len(files)} file{'s' if len(files) != 1 else ''}) "
        f"from run {artifact.run_id} ({artifact.created_at}) into {params.into}.",
        file=ctx.stdout,
    )
    _set_outputs(ctx.env, {"found": "true", "run-id": str(artifact.run_id)})
    return 0


def _pull_request(params: PullRequestParams, ctx: Context) -> int:
    from reconciler.github import actions, pulls

    body = None if params.body_file is None else _read_body(params.body_file, ctx)
    with actions.from_env(ctx.env) as gh:
        if params.close:
            closed = pulls.close_pull_request(
                gh, branch=params.branch, base=params.base, comment=params.comment or ""
            )
            numbers = [f"#{o.number}" for o in closed]
            print(f"closed {' '.join(numbers)}" if closed else "none", file=ctx.stdout)
            _set_outputs(
                ctx.env,
                {
                    "action": "closed" if closed else "none",
                    "number": " ".join(str(o.number) for o in closed),
                    "url": " ".join(o.url for o in closed),
                },
            )
            return 0
        assert params.title is not None and body is not None
        base = params.base or pulls.default_branch(gh) or ctx.env.get("GITHUB_REF_NAME", "")
        if not base:
            raise UsageError("no base branch: pass --base BRANCH")
        outcome = pulls.ensure_pull_request(
            gh, branch=params.branch, base=base, title=params.title, body=body
        )
    line = f"{outcome.action} #{outcome.number}"
    print(f"{line} {outcome.url}" if outcome.action == "opened" else line, file=ctx.stdout)
    _set_outputs(
        ctx.env,
        {"action": outcome.action, "number": str(outcome.number), "url": outcome.url},
    )
    return 0


def _read_body(name: str, ctx: Context) -> str:
    from reconciler.errors import InputError
    from reconciler.github.comments import BODY_LIMIT

    try:
        body = (ctx.cwd / name).read_text(encoding="utf-8").rstrip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: cannot read the body ({exc})") from None
    if not body:
        raise InputError(f"{name}: the body is empty (did the step that writes it fail?)")
    if len(body) > BODY_LIMIT:
        raise InputError(
            f"{name}: {len(body):,} characters, over GitHub's {BODY_LIMIT:,} for a pull request"
        )
    return body


# --- helpers -----------------------------------------------------------------------------------
def _pull_request_number(payload: Mapping[str, Any]) -> int | None:
    pr = payload.get("pull_request")
    if isinstance(pr, dict) and isinstance(pr.get("number"), int):
        return int(pr["number"])
    issue = payload.get("issue")
    if isinstance(issue, dict) and "pull_request" in issue and isinstance(issue.get("number"), int):
        return int(issue["number"])
    return None


def _org(dir_given: str, ctx: Context) -> str:
    """The org the directory names (flag, environment or reconciler.yaml); "" if unknown."""
    from reconciler.config import load_config
    from reconciler.errors import ReconcilerError
    from reconciler.settings import resolve

    if ctx.org:
        return ctx.org
    directory = ctx.cwd / dir_given
    try:
        config = load_config(directory)
        settings = resolve(
            directory,
            flag_org=None,
            flag_api=None,
            env=ctx.env,
            config=config.data,
            config_file=config.path,
        )
    except (ReconcilerError, OSError):
        return ""
    return settings.org or ""


def _register_secrets(directory: Path, env: Mapping[str, str]) -> None:
    """What this step knows of the run's secrets, from its own environment: the tokens, and
    the values of the variables the directory's ``fromEnv`` references name (those set here).
    An event log written by an earlier step is scrubbed of them again (defence in depth)."""
    from reconciler import secrets
    from reconciler.discover import resource_files
    from reconciler.documents import load_documents
    from reconciler.errors import ReconcilerError
    from reconciler.settings import CONFIG_NAME, ENV_TOKEN

    names = {ENV_TOKEN, "GITHUB_TOKEN", "INFRACOST_PLAN_TOKEN"}
    files = [directory / CONFIG_NAME] if (directory / CONFIG_NAME).is_file() else []
    files += resource_files(directory)  # os.walk leaves out what it cannot read
    for file in files:
        try:
            names |= {name for d in load_documents(file) for name in _from_env_names(d.data)}
        except (ReconcilerError, OSError, RecursionError):
            continue
    secrets.register_env(env, sorted(names))


def _from_env_names(data: Any) -> set[str]:
    """The variable of every ``{fromEnv: NAME}`` in a document."""
    names: set[str] = set()
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("fromEnv"), str):
                names.add(value["fromEnv"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return names


def _read_events(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of an event log, every secret this step knows scrubbed from them; other
    lines (and a missing file) are left out."""
    import json

    from reconciler.secrets import scrub_data

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            events.append(scrub_data(item))
    return events


def _set_outputs(env: Mapping[str, str], values: Mapping[str, str]) -> None:
    """Step outputs for later steps (``GITHUB_OUTPUT``); nothing outside Actions."""
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            fh.write(f"{key}={' '.join(value.split())}\n")

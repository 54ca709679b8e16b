"""reconciler plan [DIR] ...: what would change, and nothing else."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from reconciler.commands._flags import DIR_HELP, PlanFlags, PlanFormat, add_target_arguments
from reconciler.context import Context

HELP = "show what apply would change: reads the live state, writes nothing"


@dataclass(frozen=True)
class PlanParams:
    dir: str | None  # as given (None: not given): errors quote it
    out: str | None
    format: PlanFormat
    detailed_exitcode: bool
    live: str | None  # a snapshot file, as given: the plan records it
    fail_on_unmanaged: bool
    flags: PlanFlags
    no_secrets: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PlanParams:
        return cls(
            dir=args.dir,
            out=args.out,
            format=args.format,
            detailed_exitcode=args.detailed_exitcode,
            live=args.live,
            fail_on_unmanaged=args.fail_on_unmanaged,
            flags=PlanFlags.from_args(args),
            no_secrets=args.no_secrets,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", metavar="DIR", help=DIR_HELP)
    parser.add_argument("-o", "--out", metavar="FILE", help="save the plan for apply FILE")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="output format (default: text)",
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--live",
        metavar="SNAPSHOT",
        help="plan against a live snapshot file: no token, no network",
    )
    parser.add_argument(
        "--no-secrets",
        action="store_true",
        help="fromEnv values are not available here (pull-request jobs): compare their "
        "references, never their defaults (implied by --live)",
    )
    parser.add_argument(
        "--fail-on-unmanaged",
        action="store_true",
        help="with --detailed-exitcode, unmanaged live objects count as changes",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(PlanParams.from_args(args), ctx)


def execute(params: PlanParams, ctx: Context) -> int:
    from reconciler.gcpause import gc_paused

    with gc_paused():  # the files, the live listing and the plan: no cycles, many objects
        return _execute(params, ctx)


def _execute(params: PlanParams, ctx: Context) -> int:
    from contextlib import ExitStack
    from dataclasses import replace

    from reconciler import planfile
    from reconciler.commands import _common
    from reconciler.errors import ReconcilerError
    from reconciler.live import Connection, Prefetch, connect, fetch_live, require_org
    from reconciler.planfile import desired_digest
    from reconciler.settings import Settings
    from reconciler.workdir import desired_dir

    with ExitStack() as stack:
        early: list[tuple[Connection, Prefetch]] = []

        def start(settings: Settings) -> None:
            """The list requests, started before the files are read, unless something checked
            first (the flags, the org, the token) stops the run: then that error is raised in
            its turn, after the files' errors, as if nothing had started. Not for the embedded
            sandbox: it would serve from this process (no time gained), and a directory with
            errors must not start it."""
            if params.live or settings.is_sandbox:
                return
            try:
                _common.diff_options(params.flags, settings, ctx)
                require_org(settings)
                conn = stack.enter_context(connect(settings, ctx.env))
            except ReconcilerError:
                return
            early.append((conn, Prefetch(conn.client)))

        given = desired_dir(params.dir, "plan", ctx)
        prepared = _common.prepare_or_fail(given, ctx, on_settings=start)
        settings = prepared.settings
        assert settings is not None
        _common.diff_options(params.flags, settings, ctx)  # flag errors before any network
        keep_live = bool(params.out) or params.format == "json"  # what only plan files hold
        if params.live:
            from reconciler import snapshot

            org, live, origin = snapshot.load(ctx.cwd / params.live, settings.org)
            api = record = f"snapshot:{params.live}"
            plan = _common.plan_against(
                prepared,
                live,
                params.flags,
                ctx,
                org=org,
                api=api,
                secrets_available=False,
                keep_live=keep_live,
            )
            plan = replace(plan, snapshot={"file": params.live, **origin})
        else:
            if early:
                conn, prefetch = early[0]
                live = prefetch.result()
            else:
                require_org(settings)
                conn = stack.enter_context(connect(settings, ctx.env))
                live = fetch_live(conn.client)
            plan = _common.plan_against(
                prepared,
                live,
                params.flags,
                ctx,
                org=conn.org,
                api=conn.label,
                secrets_available=not params.no_secrets,
                keep_live=keep_live,
            )
            record = conn.record
    if params.out:
        planfile.save(
            replace(plan, api=record),
            ctx.cwd / params.out,
            desired_digest=desired_digest(prepared.directory, prepared.files_read),
        )
    _common.print_plan(plan, params.format, ctx)
    return _common.plan_exit_code(
        plan, detailed=params.detailed_exitcode, fail_on_unmanaged=params.fail_on_unmanaged
    )

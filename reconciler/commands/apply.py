"""reconciler apply [DIR | FILE]: make the change.

``apply FILE`` applies a saved plan verbatim, after refusing it as stale (exit 4, nothing
written) if the live state moved since. ``apply DIR`` plans afresh, shows the plan and asks
on a terminal (``--auto-approve`` skips the question; with no terminal and no flag it refuses).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Literal

from reconciler.commands._flags import PlanFlags, add_target_arguments
from reconciler.context import Context

if TYPE_CHECKING:
    from reconciler.live import Connection
    from reconciler.model import CustomPropertiesTable, Plan

HELP = "apply a saved plan, or plan a directory and apply it after confirmation"
GRACE_SECONDS = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target_path",
        nargs="?",
        metavar="DIR|FILE",
        help="a plan file from plan -o, or a desired-state directory (default: the nearest one "
        "with a reconciler.yaml, at or above the current directory)",
    )
    parser.add_argument(
        "--auto-approve", action="store_true", help="do not ask for confirmation (DIR only)"
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        default=4,
        metavar="N",
        help="writes in flight at once (default: 4)",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--sync-custom-properties",
        action="store_true",
        help="upload the custom properties CSV even when it matches its baseline",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text, or json: one JSON object per event, for the audit trail (default: text)",
    )


@dataclass(frozen=True)
class ApplyParams:
    target_path: str | None  # DIR or FILE, as given (None: not given): errors quote it
    auto_approve: bool
    parallelism: int
    flags: PlanFlags  # DIR only
    sync_custom_properties: bool
    format: Literal["text", "json"]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ApplyParams:
        return cls(
            target_path=args.target_path,
            auto_approve=args.auto_approve,
            parallelism=args.parallelism,
            flags=PlanFlags.from_args(args),
            sync_custom_properties=args.sync_custom_properties,
            format=args.format,
        )


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(ApplyParams.from_args(args), ctx)


def execute(params: ApplyParams, ctx: Context) -> int:
    from reconciler.errors import InputError, UsageError
    from reconciler.planfile import FROM_PLAN_O
    from reconciler.workdir import desired_dir

    if params.parallelism < 1:
        raise UsageError("--parallelism must be 1 or more")
    given = params.target_path
    if given is not None and not (ctx.cwd / given).exists():
        raise InputError(f"{given}: no such file or directory; {FROM_PLAN_O}")
    if given is not None and (ctx.cwd / given).is_file():
        flag = params.flags.first_given()
        if flag is not None:
            raise UsageError(
                f"{flag} applies to a directory, not to a saved plan: a saved plan is "
                "applied as it was made (pass it to plan -o instead)"
            )
        return _apply_file(given, params, ctx)
    return _apply_dir(desired_dir(given, "apply", ctx), params, ctx)


# --- the two ways in -----------------------------------------------------------------------


def _apply_dir(directory: str, params: ApplyParams, ctx: Context) -> int:
    from reconciler.commands import _common
    from reconciler.errors import UsageError
    from reconciler.live import connect, fetch_live, require_org

    prepared = _common.prepare_or_fail(directory, ctx)
    settings = prepared.settings
    assert settings is not None
    require_org(settings)
    with connect(settings, ctx.env) as conn:
        live = fetch_live(conn.client)
        plan = _common.plan_against(prepared, live, params.flags, ctx, org=conn.org, api=conn.label)
        if params.format == "text":
            _common.print_plan(plan, "text", ctx)
        if plan.errors:
            if params.format == "json":  # stdout is the event stream: say why on stderr
                _print_refused(plan, ctx)
            return 1
        table = prepared.state.custom_properties
        upload = _wants_upload(plan, params)
        if not plan.has_changes and not upload and not _has_writes(plan):
            _print_nothing(params, ctx)
            return 0
        if not params.auto_approve:
            answer = _confirm(ctx)
            if answer is None:
                raise UsageError(
                    "apply needs a confirmation: run it in a terminal and answer yes, "
                    "or pass --auto-approve"
                )
            if not answer:
                print("\nApply cancelled.", file=ctx.stdout)
                return 1
        known = {kind: {o.id for o in objects} for kind, objects in live.items()}
        return _write(plan, conn, prepared.directory, table if upload else None, known, params, ctx)


def _apply_file(given: str, params: ApplyParams, ctx: Context) -> int:
    from reconciler import planfile, workdir
    from reconciler.errors import InputError, StalePlanError
    from reconciler.live import connect_recorded, fetch_live
    from reconciler.stale import already_applied, stale_reasons, table_as_planned

    path = ctx.cwd / given
    if path.suffix.lower() in (".yaml", ".yml"):  # a desired-state file: its directory was meant
        holder = workdir.relative(workdir.nearest(path.parent) or path.parent, ctx.cwd)
        raise InputError(
            f"{given}: a YAML file, not a saved plan; to plan and apply its directory: "
            f"reconciler apply {holder}; {planfile.FROM_PLAN_O}"
        )
    plan, _ = planfile.load(path, given)
    if plan.errors:
        raise InputError(f"{given}: the plan was refused when it was made: {plan.errors[0]}")
    if plan.api.startswith("snapshot:"):
        raise InputError(
            f"{given}: planned against a snapshot ({plan.api[9:]}); plan against the API to apply"
        )
    if not plan.secrets_compared:
        raise InputError(
            f"{path}: planned with --no-secrets (fromEnv values were not compared); plan with "
            "the secrets to apply"
        )
    _check_target(plan, ctx)
    directory = ctx.cwd / plan.dir
    upload = _wants_upload(plan, params)
    table = table_as_planned(plan, directory, Path(given)) if upload else None
    with connect_recorded(plan.org, plan.api, ctx.env) as conn:
        live = fetch_live(conn.client)
        if already_applied(plan, live, uploaded=_uploaded(plan, directory, params, upload)):
            _print_already_applied(given, params, ctx)
            return 0
        reasons = stale_reasons(plan, live, ctx.env)
        if reasons:
            listed = "\n  ".join(reasons)
            raise StalePlanError(f"{given} is stale; nothing was written. Plan again.\n  {listed}")
        if not _has_writes(plan) and not upload:
            _print_nothing(params, ctx)
            return 0
        known = {kind: {o.id for o in objects} for kind, objects in live.items()}
        return _write(plan, conn, directory, table, known, params, ctx)


def _uploaded(plan: Plan, directory: Path, params: ApplyParams, upload: bool) -> bool | None:
    """Whether the table a saved plan uploads was uploaded since to the plan's org and API
    (None: it uploads none). ``--sync-custom-properties`` asks for an upload whatever was done
    before."""
    from reconciler import kinds
    from reconciler.model import UploadTarget

    if not upload or plan.custom_properties is None:
        return None
    if params.sync_custom_properties:
        return False
    target = UploadTarget.of(plan.org, plan.api)
    return kinds.TABLE.uploaded_digest(directory, target) == plan.custom_properties.digest


def _check_target(plan: Plan, ctx: Context) -> None:
    """A saved plan goes where it was made: flags and environment may only agree with it."""
    from reconciler.errors import ConfigError
    from reconciler.settings import ENV_API, ENV_ORG, SANDBOX, shown_url

    org = ctx.org or ctx.env.get(ENV_ORG)
    if org and org != plan.org:
        raise ConfigError(f'the plan is for org "{plan.org}", not "{org}"')
    api = ctx.api or ctx.env.get(ENV_API)
    if api:
        recorded = SANDBOX if plan.api.startswith("sandbox:") else plan.api
        if api.rstrip("/").lower() != recorded.rstrip("/").lower():
            raise ConfigError(f"the plan is for the API {recorded}, not {shown_url(api)}")


# --- execution and output --------------------------------------------------------------------


def _has_writes(plan: Plan) -> bool:
    return any(c.action != "no-op" for c in plan.changes)


def _wants_upload(plan: Plan, params: ApplyParams) -> bool:
    cp = plan.custom_properties
    if cp is None:
        return False
    return params.sync_custom_properties or cp.status in ("update", "sync")


def _confirm(ctx: Context) -> bool | None:
    """True for 'yes', False for anything else, None when there is no terminal to ask on."""
    stdin = sys.stdin
    if not (stdin and stdin.isatty() and getattr(ctx.stdout, "isatty", lambda: False)()):
        return None
    print(
        "\nDo you want to perform these actions?\n"
        "  reconciler will perform the actions described above.\n"
        "  Only 'yes' will be accepted to approve.\n",
        file=ctx.stdout,
    )
    ctx.stdout.write("  Enter a value: ")
    ctx.stdout.flush()
    return stdin.readline().strip() == "yes"


@contextmanager
def _stop_on_signals(stop: threading.Event, ctx: Context) -> Iterator[None]:
    """SIGINT or SIGTERM: no new write starts; writes in flight get GRACE_SECONDS."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            print(
                f"\n{signal.Signals(signum).name} received: no new write will start; "
                f"waiting up to {GRACE_SECONDS:g} s for writes in flight.",
                file=ctx.stderr,
                flush=True,
            )
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _write(
    plan: Plan,
    conn: Connection,
    directory: Path,
    table: CustomPropertiesTable | None,
    known: dict[str, set[str]],
    params: ApplyParams,
    ctx: Context,
) -> int:
    from reconciler import kinds
    from reconciler.apply import Event, Executor
    from reconciler.errors import EXIT_INTERRUPTED
    from reconciler.model import Ref, UploadTarget
    from reconciler.render import events

    client = conn.client
    stop = threading.Event()

    def on_event(event: Event) -> None:
        print(events.event(event, params.format), file=ctx.stdout, flush=True)

    upload = None
    if table is not None:
        kind = kinds.TABLE

        def upload() -> Event:
            from reconciler.http.infracost import ApiError

            ref = Ref(kind.name, table.file.name)
            try:
                client.upload_custom_properties(table.file.read_bytes())
            except ApiError as exc:
                return Event("failed", ref, str(exc))
            kind.record_upload(directory, table, UploadTarget.of(conn.org, conn.record))
            return Event("uploaded", ref, f"{len(table.rows)} rows")

    executor = Executor(
        client,
        env=ctx.env,
        parallelism=params.parallelism,
        stop=stop,
        grace=GRACE_SECONDS,
        on_event=on_event,
        known_ids=known,
    )
    with _stop_on_signals(stop, ctx):
        result = executor.run(plan, upload)
    print(events.summary(result, params.format), file=ctx.stdout)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 1 if result.failed else 0


def _print_refused(plan: Plan, ctx: Context) -> None:
    """Why a refused plan wrote nothing, for ``--format json`` (text shows it in the plan)."""
    print("Error: the plan was refused; nothing was written:", file=ctx.stderr)
    for error in plan.errors:
        print(f"  x {error}", file=ctx.stderr)


def _print_already_applied(given: str, params: ApplyParams, ctx: Context) -> None:
    from reconciler.render import events

    print(events.already_applied(given, params.format), file=ctx.stdout)


def _print_nothing(params: ApplyParams, ctx: Context) -> None:
    from reconciler.render import events

    print(events.nothing(params.format), file=ctx.stdout)

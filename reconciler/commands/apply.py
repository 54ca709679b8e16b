"""reconciler apply [DIR | FILE]: make the change.

``apply FILE`` applies a saved plan verbatim, after refusing it as stale (exit 4, nothing
written) if the live state moved since. ``apply DIR`` plans afresh, shows the plan and asks
on a terminal (``--auto-approve`` skips the question; with no terminal and no flag it refuses).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from reconciler.commands.plan import add_target_arguments
from reconciler.context import Context

if TYPE_CHECKING:
    from reconciler.apply import Event, Result
    from reconciler.http.infracost import ApiClient
    from reconciler.model import CustomPropertiesTable, Plan, Ref

HELP = "apply a saved plan, or plan a directory and apply it after confirmation"
GRACE_SECONDS = 5.0
_SYMBOL = {"created": "+", "adopted": "+", "updated": "~", "deleted": "-", "uploaded": "^"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target_path",
        nargs="?",
        default=".",
        metavar="DIR|FILE",
        help="a desired-state directory (default: .) or a plan file from plan -o",
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


def run(args: argparse.Namespace, ctx: Context) -> int:
    from reconciler.errors import UsageError

    if args.parallelism < 1:
        raise UsageError("--parallelism must be 1 or more")
    path = ctx.cwd / args.target_path
    if path.is_file():
        for flag in ("target", "exclude", "prune", "allow_mass_delete", "baseline"):
            if getattr(args, flag):
                name = "--" + flag.replace("_", "-")
                raise UsageError(
                    f"{name} applies to a directory, not to a saved plan: a saved plan is "
                    "applied as it was made (pass it to plan -o instead)"
                )
        return _apply_file(path, args, ctx)
    args.dir = args.target_path
    return _apply_dir(args, ctx)


# --- the two ways in -----------------------------------------------------------------------


def _apply_dir(args: argparse.Namespace, ctx: Context) -> int:
    from reconciler.commands import _common
    from reconciler.errors import UsageError
    from reconciler.live import connect, fetch_live, require_org

    prepared = _common.prepare_or_fail(args, ctx)
    settings = prepared.settings
    assert settings is not None
    require_org(settings)
    with connect(settings, ctx.env) as conn:
        live = fetch_live(conn.client)
        plan = _common.plan_against(prepared, live, args, ctx, org=conn.org, api=conn.label)
        if args.format == "text":
            _common.print_plan(plan, "text", ctx)
        if plan.errors:
            return 1
        table = prepared.state.custom_properties
        upload = _wants_upload(plan, args)
        if not plan.has_changes and not upload and not _has_writes(plan):
            _emit_summary_none(args, ctx)
            return 0
        if not args.auto_approve:
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
        return _execute(
            plan, conn.client, prepared.directory, table if upload else None, known, args, ctx
        )


def _apply_file(path: Path, args: argparse.Namespace, ctx: Context) -> int:
    from reconciler import planfile
    from reconciler.errors import InputError, StalePlanError
    from reconciler.live import fetch_live
    from reconciler.sources import DataError, read_table

    plan, _ = planfile.load(path)
    if plan.errors:
        raise InputError(f"{path}: the plan was refused when it was made: {plan.errors[0]}")
    if plan.api.startswith("snapshot:"):
        raise InputError(
            f"{path}: planned against a snapshot ({plan.api[9:]}); plan against the API to apply"
        )
    _check_target(plan, args, ctx)
    directory = ctx.cwd / plan.dir
    table = None
    upload = _wants_upload(plan, args)
    if upload and plan.custom_properties is not None:
        csv_path = directory / plan.custom_properties.file
        try:
            read = read_table(csv_path)
        except DataError as exc:
            raise InputError(f"{csv_path}: {exc.message}") from None
        if read.digest != plan.custom_properties.digest:
            raise StalePlanError(
                f"{path} is stale: {plan.custom_properties.file} changed since the plan; "
                "nothing was written. Plan again."
            )
        from reconciler.model import CustomPropertiesTable, Location

        table = CustomPropertiesTable(
            Location(csv_path), csv_path, read.header, read.rows, read.digest
        )
    with _connect_recorded(plan, ctx) as client:
        live = fetch_live(client)
        from reconciler.stale import stale_reasons

        reasons = stale_reasons(plan, live, ctx.env)
        if reasons:
            listed = "\n  ".join(reasons)
            raise StalePlanError(f"{path} is stale; nothing was written. Plan again.\n  {listed}")
        if not _has_writes(plan) and not upload:
            _emit_summary_none(args, ctx)
            return 0
        known = {kind: {o.id for o in objects} for kind, objects in live.items()}
        return _execute(plan, client, directory, table, known, args, ctx)


def _check_target(plan: Plan, args: argparse.Namespace, ctx: Context) -> None:
    """A saved plan goes where it was made: flags and environment may only agree with it."""
    from reconciler.errors import ConfigError
    from reconciler.settings import ENV_API, ENV_ORG, SANDBOX

    org = args.org or ctx.env.get(ENV_ORG)
    if org and org != plan.org:
        raise ConfigError(f'the plan is for org "{plan.org}", not "{org}"')
    api = args.api or ctx.env.get(ENV_API)
    if api:
        recorded = SANDBOX if plan.api.startswith("sandbox:") else plan.api
        if api.rstrip("/").lower() != recorded.rstrip("/").lower():
            raise ConfigError(f"the plan is for the API {recorded}, not {api}")


@contextmanager
def _connect_recorded(plan: Plan, ctx: Context) -> Iterator[ApiClient]:
    from reconciler.errors import ConfigError
    from reconciler.http.infracost import ApiClient
    from reconciler.settings import ENV_TOKEN, Secret, check_api_url

    if plan.api.startswith("sandbox:"):
        from reconciler.sandbox.embedded import embedded

        db = Path(plan.api[len("sandbox:") :])
        if not db.is_file():
            raise ConfigError(f"the plan's sandbox database {db} does not exist any more")
        with (
            embedded(db, plan.org) as endpoint,
            ApiClient(endpoint.base_url, plan.org, Secret(endpoint.token)) as client,
        ):
            yield client
        return
    check_api_url(plan.api, "the plan file")
    token = ctx.env.get(ENV_TOKEN)
    if not token:
        raise ConfigError(f"{ENV_TOKEN} is not set")
    with ApiClient(plan.api, plan.org, Secret(token)) as client:
        yield client


# --- execution and output --------------------------------------------------------------------


def _has_writes(plan: Plan) -> bool:
    return any(c.action != "no-op" for c in plan.changes)


def _wants_upload(plan: Plan, args: argparse.Namespace) -> bool:
    cp = plan.custom_properties
    if cp is None:
        return False
    return bool(getattr(args, "sync_custom_properties", False)) or cp.status in ("update", "sync")


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


def _execute(
    plan: Plan,
    client: ApiClient,
    directory: Path,
    table: CustomPropertiesTable | None,
    known: dict[str, set[str]],
    args: argparse.Namespace,
    ctx: Context,
) -> int:
    from reconciler.apply import Event, Executor
    from reconciler.errors import EXIT_INTERRUPTED
    from reconciler.model import Ref

    stop = threading.Event()
    emit = _json_event if args.format == "json" else _text_event

    def on_event(event: Event) -> None:
        emit(event, ctx)

    upload = None
    if table is not None:

        def upload() -> Event:
            from reconciler.baseline import write_record
            from reconciler.http.infracost import ApiError

            ref = Ref("CustomProperties", table.file.name)
            try:
                client.upload_custom_properties(table.file.read_bytes())
            except ApiError as exc:
                return Event("failed", ref, str(exc))
            write_record(directory, table)
            return Event("uploaded", ref, f"{len(table.rows)} rows")

    executor = Executor(
        client,
        env=ctx.env,
        parallelism=args.parallelism,
        stop=stop,
        grace=GRACE_SECONDS,
        on_event=on_event,
        known_ids=known,
    )
    with _stop_on_signals(stop, ctx):
        result = executor.run(plan, upload)
    _summary(result, args, ctx)
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 1 if result.failed else 0


def _ref_text(ref: Ref) -> str:
    ident = f" (id {ref.id})" if ref.id else ""
    return f'{ref.kind} "{ref.name}"{ident}'


def _text_event(event: Event, ctx: Context) -> None:
    symbol = _SYMBOL.get(event.outcome, "!")
    line = f"{symbol} {event.outcome} {_ref_text(event.ref)}"
    if event.detail:
        line += f": {event.detail}"
    if event.outcome in _SYMBOL:
        line += f" ({event.seconds:.2f} s)"
    print(line, file=ctx.stdout, flush=True)
    for warning in event.warnings:
        print(f"    warning: {warning}", file=ctx.stdout, flush=True)


def _json_event(event: Event, ctx: Context) -> None:
    record: dict[str, Any] = {
        "event": event.outcome,
        "kind": event.ref.kind,
        "name": event.ref.name,
        "id": event.ref.id,
        "detail": event.detail,
        "warnings": list(event.warnings),
        "seconds": event.seconds,
    }
    print(json.dumps(record, ensure_ascii=False), file=ctx.stdout, flush=True)


def _emit_summary_none(args: argparse.Namespace, ctx: Context) -> None:
    if args.format == "json":
        print(
            json.dumps(
                {
                    "event": "summary",
                    "applied": 0,
                    "failed": 0,
                    "skipped": 0,
                    "interrupted": False,
                    "changes": False,
                }
            ),
            file=ctx.stdout,
        )
    else:
        print("\nNothing to apply.", file=ctx.stdout)


def _summary(result: Result, args: argparse.Namespace, ctx: Context) -> None:
    skipped = result.count("skipped")
    if args.format == "json":
        print(
            json.dumps(
                {
                    "event": "summary",
                    "applied": result.applied,
                    "failed": result.failed,
                    "skipped": skipped,
                    "interrupted": result.interrupted,
                    "changes": True,
                }
            ),
            file=ctx.stdout,
        )
        return
    head = "interrupted" if result.interrupted else ("failed" if result.failed else "complete")
    print(
        f"\nApply {head}: {result.applied} applied, {result.failed} failed, {skipped} skipped.",
        file=ctx.stdout,
    )
    for event in result.events:
        if event.outcome in ("failed", "interrupted", "skipped"):
            print(f"  {event.outcome}: {_ref_text(event.ref)}: {event.detail}", file=ctx.stdout)
    if result.failed or skipped:
        print("Run plan again to see exactly the remaining work.", file=ctx.stdout)

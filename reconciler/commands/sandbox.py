"""reconciler sandbox serve|token: the local stand-in for the Infracost Cloud API.

serve [--db PATH] [--host 127.0.0.1] [--port 8787] [--faults SPEC] [--quirks LIST]
      [--servicenow-table NAME=FILE.csv ...]
token --org SLUG [--db PATH]
"""

from __future__ import annotations

import argparse
import secrets
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from reconciler.context import Context
from reconciler.errors import UsageError

if TYPE_CHECKING:  # the sandbox (Flask) is imported only when a sub-command runs
    from reconciler.sandbox.faults import Behaviour
    from reconciler.sandbox.servicenow import ServiceNow

HELP = "run the local sandbox API (serve) or make a token for one of its orgs (token)"
DEFAULT_DB = Path(".reconciler") / "sandbox.db"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SERVICENOW_USER = "SERVICENOW_USER"
SERVICENOW_PASSWORD = "SERVICENOW_PASSWORD"
DEFAULT_SERVICENOW_USER = "admin"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve the sandbox API until Ctrl-C or SIGTERM; prints its URL",
        description="Serve the sandbox API until Ctrl-C or SIGTERM. Prints its URL on stdout.",
    )
    _db_flag(serve)
    _global_flags(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=_port, default=8787, help="port to bind, 0 for any free one (default: 8787)"
    )
    serve.add_argument(
        "--faults",
        metavar="SPEC",
        default="",
        help="fault injection, e.g. error_rate=0.1,throttle_rate=0.05,drop_rate=0.05,seed=7",
    )
    serve.add_argument(
        "--quirks", metavar="LIST", default="", help="quirks to switch on, comma-separated"
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        metavar="N",
        help="largest request body accepted (default: 8 MiB)",
    )
    serve.add_argument(
        "--servicenow-table",
        metavar="NAME=FILE.csv",
        type=_table,
        action="append",
        default=[],
        dest="servicenow_tables",
        help="also serve a ServiceNow Table API with this table, read from a CSV file (repeatable;"
        f" credentials: ${SERVICENOW_USER}, ${SERVICENOW_PASSWORD}, else admin and a random"
        " password, printed)",
    )
    token = sub.add_parser(
        "token",
        help="print a new token for an org of the sandbox (the org is created if needed)",
        description="Print a new ics_v1_... token for ORG, creating the org if needed.",
    )
    token.add_argument(
        "--org", metavar="SLUG", default=argparse.SUPPRESS, help="the org (created if needed)"
    )
    _db_flag(token)
    _global_flags(token)


def _db_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH", type=Path, help=f"the SQLite database (default: {DEFAULT_DB})"
    )


def _global_flags(parser: argparse.ArgumentParser) -> None:
    """The global flags that matter here, also accepted after the sub-command's name."""
    group = parser.add_argument_group("global options")
    for flag, text in (("--no-color", "never colour the output"), ("--debug", "show tracebacks")):
        group.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=text)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def _table(value: str) -> tuple[str, Path]:
    name, equals, file = value.partition("=")
    if not equals or not name.strip() or not file.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=FILE.csv, got {value!r}")
    return name.strip(), Path(file.strip())


@dataclass(frozen=True)
class TokenParams:
    db: Path | None
    org: str | None  # --org, given before or after "token": required, checked by _token


@dataclass(frozen=True)
class ServeParams:
    db: Path | None
    host: str
    port: int
    faults: str
    quirks: str
    max_body_bytes: int | None
    servicenow_tables: tuple[tuple[str, Path], ...] = ()  # (table name, CSV file), in order


def from_args(args: argparse.Namespace) -> TokenParams | ServeParams:
    if args.sandbox_command == "token":
        return TokenParams(db=args.db, org=args.org)
    return ServeParams(
        db=args.db,
        host=args.host,
        port=args.port,
        faults=args.faults,
        quirks=args.quirks,
        max_body_bytes=args.max_body_bytes,
        servicenow_tables=tuple(args.servicenow_tables),
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(from_args(args), ctx)


def execute(params: TokenParams | ServeParams, ctx: Context) -> int:
    db = ctx.cwd / (params.db if params.db is not None else DEFAULT_DB)
    if isinstance(params, TokenParams):
        return _token(params, ctx, db)
    return _serve(params, ctx, db)


def _token(params: TokenParams, ctx: Context, db: Path) -> int:
    from reconciler.sandbox.store import Store, check_org_slug

    org = params.org
    if not org:
        raise UsageError("reconciler sandbox token: --org SLUG is required")
    check_org_slug(org)
    new = not db.exists()
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db)
    try:
        print(store.create_token(org), file=ctx.stdout)
    finally:
        store.close()
    if new:  # the token is good only for a server on this database: say where it is
        print(
            f"Created the sandbox database {ctx.display_path(db)}: only a sandbox serve "
            "using it accepts this token (run token where the server runs, or pass its --db)",
            file=ctx.stderr,
        )
    return 0


def _serve(params: ServeParams, ctx: Context, db: Path) -> int:
    from reconciler.sandbox.app import DEFAULT_MAX_BODY, create_app
    from reconciler.sandbox.faults import Behaviour, Controls, parse_faults, parse_quirks
    from reconciler.sandbox.server import start
    from reconciler.sandbox.store import Store

    behaviour = Behaviour(parse_faults(params.faults), parse_quirks(params.quirks))
    max_body = params.max_body_bytes if params.max_body_bytes is not None else DEFAULT_MAX_BODY
    if max_body < 1:
        raise UsageError("--max-body-bytes must be at least 1")
    servicenow = _servicenow(params.servicenow_tables, ctx) if params.servicenow_tables else None
    db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db)
    try:
        app = create_app(
            store, controls=Controls(behaviour), max_body_bytes=max_body, servicenow=servicenow
        )
        server = start(app, params.host, params.port)
        try:
            print(server.url, file=ctx.stdout, flush=True)
            _describe(ctx, server.url, db, params.host, behaviour, servicenow)
            _wait_for_stop()
        finally:
            server.stop()
    finally:
        store.close()
    print("Sandbox stopped.", file=ctx.stderr)
    return 0


def _servicenow(tables: tuple[tuple[str, Path], ...], ctx: Context) -> ServiceNow:
    """The tables, with the credentials from the environment or admin and a random password."""
    from reconciler.sandbox.servicenow import load

    names = [name for name, _ in tables]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        raise UsageError(f"--servicenow-table: table {repeated!r} given twice")
    user = ctx.env.get(SERVICENOW_USER) or DEFAULT_SERVICENOW_USER
    password = ctx.env.get(SERVICENOW_PASSWORD) or secrets.token_urlsafe(18)
    return load({name: ctx.cwd / file for name, file in tables}, user=user, password=password)


def _describe(
    ctx: Context,
    url: str,
    db: Path,
    host: str,
    behaviour: Behaviour,
    servicenow: ServiceNow | None = None,
) -> None:
    err = ctx.stderr
    print(f"Sandbox API at {url}/v1 (database {ctx.display_path(db)})", file=err)
    print("Make a token: reconciler sandbox token --org SLUG; stop with Ctrl-C.", file=err)
    if servicenow is not None:
        tables = ", ".join(servicenow.tables)
        print(f"ServiceNow Table API at {url}/api/now/table/ (tables: {tables})", file=err)
        # the password is shown only when it was made here; one from the environment stays there
        shown = (
            f"password from ${SERVICENOW_PASSWORD}"
            if ctx.env.get(SERVICENOW_PASSWORD)
            else f"password {servicenow.password}"
        )
        print(f"ServiceNow user {servicenow.user}, {shown}", file=err)
    if behaviour.faults.describe():
        print(f"Faults: {behaviour.faults.describe()}", file=err)
    if behaviour.quirks:
        print(f"Quirks: {', '.join(sorted(behaviour.quirks))}", file=err)
    if host not in LOOPBACK:
        print(f"Warning: listening on {host}: anyone who can reach it can use it.", file=err)
    err.flush()


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM (SIGTERM handled only when running in the main thread)."""
    stop = threading.Event()
    main = threading.current_thread() is threading.main_thread()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term) if main else None
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

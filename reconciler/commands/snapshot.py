"""reconciler snapshot -o FILE: save the live state of an org for token-less plans."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from reconciler.context import Context

HELP = "save the org's live state (secrets as fingerprints) for plan --live"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="directory whose reconciler.yaml gives org and api (default: the nearest one, at "
        "or above the current directory); not read when --org and --api are given",
    )
    parser.add_argument("-o", "--out", metavar="FILE", required=True, help="snapshot file")


@dataclass(frozen=True)
class SnapshotParams:
    dir: str | None  # as given (None: not given): errors quote it
    out: str  # as given: the report quotes it

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SnapshotParams:
        return cls(dir=args.dir, out=args.out)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(SnapshotParams.from_args(args), ctx)


def execute(params: SnapshotParams, ctx: Context) -> int:
    from datetime import UTC, datetime

    from reconciler import snapshot
    from reconciler.config import ConfigFile, load_config
    from reconciler.errors import InputError
    from reconciler.live import connect, fetch_live
    from reconciler.render import problems as render_problems
    from reconciler.settings import resolve
    from reconciler.workdir import desired_dir

    # Only the settings matter: the resource files are never read (they may await a pull, or
    # not be a desired state at all).
    given = desired_dir(params.dir, "snapshot", ctx)
    directory = ctx.cwd / given
    if not directory.is_dir():
        raise InputError(f"{given}: no such directory")
    config = ConfigFile(None) if ctx.org and ctx.api else load_config(directory)
    if not config.valid:
        for problem in config.problems:
            print(render_problems.line(problem, ctx.display_path), file=ctx.stderr)
        raise InputError(f"{given}: reconciler.yaml is invalid (see above)")
    settings = resolve(
        directory,
        flag_org=ctx.org,
        flag_api=ctx.api,
        env=ctx.env,
        config=config.data,
        config_file=config.path,
    )
    with connect(settings, ctx.env) as conn:
        live = fetch_live(conn.client)
        refs = snapshot.references(prepared.state.resources, live, ctx.env)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        origin = snapshot.origin_here(ctx.env, now)
        snapshot.save(ctx.cwd / params.out, conn.org, conn.label, live, refs, origin)
    count = sum(len(v) for v in live.values())
    print(f"Saved {count} live objects of org {conn.org} to {params.out}.", file=ctx.stdout)
    return 0

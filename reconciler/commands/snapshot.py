"""reconciler snapshot -o FILE: save the live state of an org for token-less plans."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.context import Context

if TYPE_CHECKING:
    from reconciler.model import Resource

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
    from reconciler.render.text import plural
    from reconciler.settings import resolve
    from reconciler.workdir import desired_dir

    # The settings are all a snapshot needs: the resource files are read only to record which
    # fromEnv variable each live secret comes from, and never stop it (they may await a pull,
    # or not be a desired state at all).
    given = desired_dir(params.dir, "snapshot", ctx, anywhere=bool(ctx.org and ctx.api))
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
        refs = snapshot.references(_resources(directory), live, ctx.env)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        origin = snapshot.origin_here(ctx.env, now)
        snapshot.save(ctx.cwd / params.out, conn.org, conn.label, live, refs, origin)
    count = sum(len(v) for v in live.values())
    saved = plural(count, "live object")
    print(f"Saved {saved} of org {conn.org} to {params.out}.", file=ctx.stdout)
    return 0


def _resources(directory: Path) -> tuple[Resource, ...]:
    """The documents of the directory that read without errors, when it has a valid
    reconciler.yaml (even with --org and --api given); nothing otherwise, or when the files
    cannot be read: the snapshot then records no references, and plans against it say that the
    secrets were not compared."""
    from reconciler.config import load_config
    from reconciler.desired import read_desired
    from reconciler.errors import InputError
    from reconciler.settings import CONFIG_NAME

    if not (directory / CONFIG_NAME).is_file():
        return ()
    try:
        config = load_config(directory)
        if not config.valid:
            return ()
        state = read_desired(directory, exclude=tuple(config.data.get("exclude", ())))
    except (InputError, OSError):
        return ()
    return tuple(state.resources)

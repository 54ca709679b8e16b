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
        default=".",
        metavar="DIR",
        help="directory whose reconciler.yaml gives org and api (default: .)",
    )
    parser.add_argument("-o", "--out", metavar="FILE", required=True, help="snapshot file")


@dataclass(frozen=True)
class SnapshotParams:
    dir: str  # as given: errors quote it
    out: str  # as given: the report quotes it

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SnapshotParams:
        return cls(dir=args.dir, out=args.out)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(SnapshotParams.from_args(args), ctx)


def execute(params: SnapshotParams, ctx: Context) -> int:
    from datetime import UTC, datetime

    from reconciler import snapshot
    from reconciler.commands._common import prepare_or_fail
    from reconciler.live import connect, fetch_live

    prepared = prepare_or_fail(params.dir, ctx)
    assert prepared.settings is not None
    with connect(prepared.settings, ctx.env) as conn:
        live = fetch_live(conn.client)
        refs = snapshot.references(prepared.state.resources, live, ctx.env)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        origin = snapshot.origin_here(ctx.env, now)
        snapshot.save(ctx.cwd / params.out, conn.org, conn.label, live, refs, origin)
    count = sum(len(v) for v in live.values())
    print(f"Saved {count} live objects of org {conn.org} to {params.out}.", file=ctx.stdout)
    return 0

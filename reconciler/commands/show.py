"""reconciler show FILE: render a saved plan without touching the API."""

from __future__ import annotations

import argparse

from reconciler.context import Context

HELP = "render a saved plan file (no API access)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a plan file written by plan -o")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="output format (default: text)",
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    from reconciler import planfile
    from reconciler.commands._common import print_plan

    plan, _ = planfile.load(ctx.cwd / args.file)
    print_plan(plan, args.format, ctx)
    return 0

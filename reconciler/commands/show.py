"""reconciler show FILE: render a saved plan without touching the API."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from reconciler.commands._flags import PlanFormat
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


@dataclass(frozen=True)
class ShowParams:
    file: str
    format: PlanFormat

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ShowParams:
        return cls(file=args.file, format=args.format)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(ShowParams.from_args(args), ctx)


def execute(params: ShowParams, ctx: Context) -> int:
    from reconciler import planfile
    from reconciler.commands._common import print_plan

    plan, _ = planfile.load(ctx.cwd / params.file, params.file)
    print_plan(plan, params.format, ctx)
    return 0

"""reconciler validate [DIR] [--strict] [--format text|json]"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from reconciler.commands._flags import DIR_HELP
from reconciler.context import Context

HELP = "check the desired-state files: every problem at once, located by file, line and field"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", metavar="DIR", help=DIR_HELP)
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


@dataclass(frozen=True)
class ValidateParams:
    dir: str | None  # as given (None: not given): errors quote it
    strict: bool
    format: Literal["text", "json"]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ValidateParams:
        return cls(dir=args.dir, strict=args.strict, format=args.format)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(ValidateParams.from_args(args), ctx)


def execute(params: ValidateParams, ctx: Context) -> int:
    # Imported here, not at the top: every command's module is imported to build --help.
    from reconciler import kinds
    from reconciler.commands._common import require_desired_state
    from reconciler.desired import prepare
    from reconciler.render import problems as render
    from reconciler.workdir import desired_dir

    directory = desired_dir(params.dir, "validate", ctx)
    prepared = prepare(
        ctx.cwd / directory,
        flag_org=ctx.org,
        flag_api=ctx.api,
        env=ctx.env,
        report_flag_errors=True,  # a bad --org or --api is one more problem to list
        shown=directory,
    )
    require_desired_state(prepared, directory)
    state = prepared.state
    problems = prepared.problems
    strict = params.strict
    levels = Counter(render.severity(p, strict) for p in problems)
    errors, warnings = levels["error"], levels["warning"]  # notes are printed, never counted
    counts = Counter(r.kind for r in state.resources)
    if state.custom_properties is not None:
        table = kinds.TABLE
        counts[table.name] += 1
    if params.format == "json":
        summary = {
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "files": state.files,
            "resources": dict(sorted(counts.items())),
        }
        print(render.as_json(problems, ctx.display_path, strict, summary), file=ctx.stdout)
    else:
        for problem in problems:
            print(render.line(problem, ctx.display_path, strict), file=ctx.stdout)
        if errors:
            tail = f", {_plural(warnings, 'warning')}" if warnings else ""
            print(f"Invalid: {_plural(errors, 'error')}{tail}.", file=ctx.stdout)
        else:
            counted = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no resources"
            tail = f" with {_plural(warnings, 'warning')}" if warnings else ""
            print(
                f"Valid{tail}: {counted} in {_plural(state.files, 'file')}.",
                file=ctx.stdout,
            )
    return 1 if errors else 0

"""reconciler validate [DIR] [--strict] [--format text|json]"""

from __future__ import annotations

import argparse
from collections import Counter

from reconciler.context import Context

HELP = "check the desired-state files: every problem at once, located by file, line and field"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", nargs="?", default=".", metavar="DIR", help="desired-state directory (default: .)"
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def run(args: argparse.Namespace, ctx: Context) -> int:
    # Imported here, not at the top: every command's module is imported to build --help.
    from reconciler.config import load_config
    from reconciler.desired import read_desired
    from reconciler.errors import ConfigError, InputError
    from reconciler.model import Problem
    from reconciler.render import problems as render
    from reconciler.settings import resolve

    directory = ctx.cwd / args.dir
    if not directory.is_dir():
        what = "is a file, not a directory" if directory.exists() else "no such directory"
        raise InputError(f"{args.dir}: {what}")
    config = load_config(directory)
    problems = list(config.problems)
    try:
        resolve(
            directory,
            flag_org=args.org,
            flag_api=args.api,
            env=ctx.env,
            config=config.data,
            config_file=config.path,
        )
    except ConfigError as exc:
        from_flag = exc.field is not None and getattr(args, exc.field, None) is not None
        where = None if from_flag else config.location(exc.field)
        problems.append(Problem("error", where, str(exc), field=exc.field or ""))
    exclude = tuple(config.data.get("exclude", ()))
    state = read_desired(directory, exclude=exclude, hygiene=config.data.get("hygiene"))
    if config.path is None and state.files == 0:
        raise InputError(
            f"{args.dir}: no reconciler.yaml and no resource files (*.yaml, *.yml): "
            "is this the desired-state directory?"
        )
    problems.extend(state.problems)
    problems.sort(key=Problem.sort_key)

    strict = args.strict
    errors = sum(1 for p in problems if render.severity(p, strict) == "error")
    warnings = len(problems) - errors
    kinds = Counter(r.kind for r in state.resources)
    if state.custom_properties is not None:
        kinds["CustomProperties"] += 1
    if args.format == "json":
        summary = {
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "files": state.files,
            "resources": dict(sorted(kinds.items())),
        }
        print(render.as_json(problems, ctx.display_path, strict, summary), file=ctx.stdout)
    else:
        for problem in problems:
            print(render.line(problem, ctx.display_path, strict), file=ctx.stdout)
        if errors:
            tail = f", {_plural(warnings, 'warning')}" if warnings else ""
            print(f"Invalid: {_plural(errors, 'error')}{tail}.", file=ctx.stdout)
        else:
            counted = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no resources"
            tail = f" with {_plural(warnings, 'warning')}" if warnings else ""
            print(
                f"Valid{tail}: {counted} in {_plural(state.files, 'file')}.",
                file=ctx.stdout,
            )
    return 1 if errors else 0

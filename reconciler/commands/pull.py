"""reconciler pull [DIR]: allowed values from the system of record, written as the files
policies read; reviewed as a pull request like any other change."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reconciler.commands._flags import DIR_HELP
from reconciler.context import Context

if TYPE_CHECKING:
    from reconciler.hygiene.variants import Style
    from reconciler.pull import Pull

HELP = "fetch the pull: tables of reconciler.yaml's sources into CSV files (all or none)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", metavar="DIR", help=DIR_HELP)
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when files changed, 0 when none did",
    )
    parser.add_argument(
        "--allow-shrink",
        action="store_true",
        help="write a result with more than maxShrink percent fewer rows than the file",
    )
    parser.add_argument("--dry-run", action="store_true", help="fetch and check, but write nothing")
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="text, json, or markdown: the body of the pull request (default: text)",
    )


@dataclass(frozen=True)
class PullParams:
    dir: str | None  # as given (None: not given): messages quote it
    detailed_exitcode: bool
    allow_shrink: bool
    dry_run: bool
    format: Literal["text", "json", "markdown"]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PullParams:
        return cls(
            dir=args.dir,
            detailed_exitcode=args.detailed_exitcode,
            allow_shrink=args.allow_shrink,
            dry_run=args.dry_run,
            format=args.format,
        )


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(PullParams.from_args(args), ctx)


def execute(params: PullParams, ctx: Context) -> int:
    from reconciler import pull
    from reconciler.config import load_config
    from reconciler.errors import EXIT_CHANGES, EXIT_OK, EXIT_USER, InputError
    from reconciler.render import problems as render_problems
    from reconciler.render import pull as render
    from reconciler.workdir import desired_dir

    given = desired_dir(params.dir, "pull", ctx)
    directory = ctx.cwd / given
    if not directory.is_dir():
        raise InputError(f"{given}: no such directory")
    config = load_config(directory)  # only reconciler.yaml: the policies may await this pull
    if config.problems:
        for problem in config.problems:
            print(render_problems.line(problem, ctx.display_path), file=ctx.stderr)
        raise InputError(f"{given}: reconciler.yaml is invalid (see above)")
    if config.path is None:
        raise InputError(f"{given}: no reconciler.yaml: nothing to pull")

    def progress(p: pull.Pull, pages: int, records: int, total: int | None) -> None:
        if pages == 1 and (total is None or records >= total):
            return  # one page: nothing to wait for
        of = f" of {total:,}" if total is not None else ""
        print(
            f"{p.file}: {p.table} page {pages} ({records:,}{of} records)",
            file=ctx.stderr,
            flush=True,
        )

    styles = _styles(directory, config.data, pull.pulls_of(config.data))
    with pull.connections(directory, config.data.get("sources") or {}, ctx.env) as client:
        report = pull.pull(
            directory,
            config.data,
            client,
            allow_shrink=params.allow_shrink,
            dry_run=params.dry_run,
            progress=progress,
            styles=styles,
        )
    shown = ctx.display_path(directory)
    if params.format == "json":
        print(render.as_json(report, shown), file=ctx.stdout)
    elif params.format == "markdown":
        print(render.as_markdown(report, shown), file=ctx.stdout)
    else:
        print(render.as_text(report, shown), file=ctx.stdout)
    if report.errors:
        return EXIT_USER
    if params.detailed_exitcode and report.changed:
        return EXIT_CHANGES
    return EXIT_OK


def _styles(directory: Path, config: dict[str, Any], pulls: list[Pull]) -> dict[str, Style]:
    """The ``hygiene:`` settings for each pull's file: those of the tag key whose policy reads
    its first field (as fix-values finds them), else of the field's name (the file's first
    pull: no policy has read it yet). The policies are read only when there are settings."""
    from reconciler.desired import read_desired
    from reconciler.hygiene import variants
    from reconciler.hygiene.report import readers

    settings = variants.styles(config.get("hygiene") or {})
    if not settings:
        return {}
    lists = read_desired(directory, exclude=tuple(config.get("exclude", ()))).value_lists
    out = {}
    for p in pulls:
        keys = {lst.key for lst in readers(lists, directory / p.file, p.fields[0])}
        key = keys.pop() if len(keys) == 1 else p.fields[0]
        out[p.file] = settings.get(key, variants.Style())
    return out

"""reconciler fix-values FILE [--column NAME] [--key KEY] [--near-duplicates] [--shapes]
[--write]"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.context import Context

if TYPE_CHECKING:
    from reconciler.hygiene.variants import Style

HELP = (
    "rewrite a values file (.csv column or .txt) to the forms the hygiene check suggests: "
    "shows the diff, writes only with --write"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the values file: .csv or .txt")
    parser.add_argument(
        "--column",
        metavar="NAME",
        help="the CSV column holding the values (default: the one the policies reading FILE read)",
    )
    parser.add_argument(
        "--key",
        metavar="KEY",
        help="the tag key whose hygiene settings apply (hygiene: in the nearest reconciler.yaml "
        "above FILE; default: the key of the policy tag that reads FILE, else the column name)",
    )
    parser.add_argument(
        "--near-duplicates",
        action="store_true",
        help="also rewrite values one edit away from another value (a guess: read the diff)",
    )
    parser.add_argument(
        "--shapes",
        action="store_true",
        help="also rewrite values one step from the shape of the list's IDs, APP-O1700 to "
        "APP-01700 (a guess: read the diff)",
    )
    parser.add_argument("--write", action="store_true", help="rewrite FILE (default: only show)")


@dataclass(frozen=True)
class FixValuesParams:
    file: str
    column: str | None
    key: str | None
    near_duplicates: bool
    shapes: bool
    write: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FixValuesParams:
        return cls(
            file=args.file,
            column=args.column,
            key=args.key,
            near_duplicates=args.near_duplicates,
            shapes=args.shapes,
            write=args.write,
        )


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(FixValuesParams.from_args(args), ctx)


def execute(params: FixValuesParams, ctx: Context) -> int:
    from reconciler.hygiene import fix as fixvalues
    from reconciler.hygiene.lookalikes import show

    path = ctx.cwd / params.file
    column = params.column
    if column is None and path.suffix.lower() == ".csv":
        column = _column_read(path, ctx)
    style = _style(path, column, params.key, ctx)
    name = ctx.display_path(path)
    fixed = fixvalues.fix(
        path,
        column,
        style,
        near_duplicates=params.near_duplicates,
        shapes=params.shapes,
        name=name,
    )
    out = ctx.stdout
    for line in fixvalues.diff(fixed, name):
        print(line, file=out)
    n = len(fixed.rewrites)
    # the guesses, listed and left alone unless their flag asks for them
    guesses = (
        ("near-duplicate", "near-duplicate(s)", "--near-duplicates"),
        ("shape", "value(s) one step from the shape of the others", "--shapes"),
    )
    for rule, what, flag in guesses:
        left = [f for f in fixed.left if f.rule == rule]
        if left:
            print(
                f"{len(left)} {what} left as they are (pass {flag} to rewrite them too):", file=out
            )
        for f in left:
            if rule == "shape":
                guess, why = f.suggestion, f" ({f.issues[0]})"
            else:
                guess, why = fixed.values[f.other] if f.other is not None else "", ""
            print(f"  {show(fixed.values[f.index])} -> {show(guess)}?{why}", file=out)
    if not n:
        print(f"Nothing to rewrite in {name}.", file=out)
        return 0
    rules = Counter(r.rule for r in fixed.rewrites)
    what = ", ".join(f"{rule} {count}" for rule, count in sorted(rules.items()))
    if fixed.repeats:
        print(
            f"{fixed.repeats} rewritten value(s) now repeat another value: reconciler keeps the "
            "first and warns about the others when it reads the file.",
            file=out,
        )
    if params.write:
        fixvalues.write(path, fixed)
        print(f"Rewrote {n} value(s) in {name} ({what}).", file=out)
    else:
        print(f"{n} value(s) to rewrite in {name} ({what}); run again with --write.", file=out)
    return 0


def _home(path: Path) -> Path | None:
    """The nearest directory at or above the file that holds a reconciler.yaml."""
    from reconciler.settings import CONFIG_NAME

    return next((d for d in path.resolve().parents if (d / CONFIG_NAME).is_file()), None)


def _column_read(path: Path, ctx: Context) -> str | None:
    """The column of the CSV file that the policies of its desired-state directory read, when
    they all read the same one (said on stderr); else None, and the error lists the header."""
    from reconciler.config import load_config
    from reconciler.desired import read_desired

    directory = _home(path)
    if directory is None:
        return None
    config = load_config(directory)
    if not config.valid:
        return None  # _style says so
    state = read_desired(directory, exclude=tuple(config.data.get("exclude", ())))
    target = path.resolve()
    readers = [
        lst
        for lst in state.value_lists
        if lst.source is not None and lst.source[0].resolve() == target and lst.source[1]
    ]
    columns = sorted({lst.source[1] for lst in readers if lst.source and lst.source[1]})
    if len(columns) != 1:
        return None
    first = readers[0]
    more = f" (and {len(readers) - 1} more)" if len(readers) > 1 else ""
    print(
        f'Using --column {columns[0]}: {first.kind} "{first.name}" tags[{first.key}]{more} '
        f"reads that column of {ctx.display_path(path)}",
        file=ctx.stderr,
    )
    return columns[0]


def _style(path: Path, column: str | None, key: str | None, ctx: Context) -> Style:
    """The hygiene settings that apply to the file, from the nearest reconciler.yaml at or
    above it: those of ``key``, else of the tag key whose policy reads the file (and column),
    else of the column name."""
    from reconciler.config import load_config
    from reconciler.errors import InputError
    from reconciler.hygiene import variants as hygiene
    from reconciler.settings import CONFIG_NAME

    directory = _home(path)
    if directory is None:
        return hygiene.Style()
    config = load_config(directory)
    if not config.valid:
        shown = ctx.display_path(directory)
        raise InputError(
            f"{ctx.display_path(directory / CONFIG_NAME)}: invalid; run reconciler validate {shown}"
        )
    settings = config.data.get("hygiene", {})
    if key is None and settings:
        key = _reader_key(directory, config.data, path, column, ctx) or column
    return hygiene.styles(settings).get(key or "", hygiene.Style())


def _reader_key(
    directory: Path, config: dict[str, Any], path: Path, column: str | None, ctx: Context
) -> str | None:
    """The tag key of the policy tag that reads ``column`` of the file; None when none does or
    the policies that do disagree (the error names them)."""
    from reconciler.desired import read_desired
    from reconciler.errors import InputError
    from reconciler.hygiene.report import readers as readers_of

    state = read_desired(directory, exclude=tuple(config.get("exclude", ())))
    readers = readers_of(state.value_lists, path, column)
    keys = sorted({lst.key for lst in readers})
    if len(keys) > 1:
        named = ", ".join(f'{lst.kind} "{lst.name}" tags[{lst.key}]' for lst in readers)
        raise InputError(
            f"{ctx.display_path(path)} is read by tags of different keys ({named}): pass --key KEY"
        )
    return keys[0] if keys else None

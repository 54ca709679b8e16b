"""reconciler export [-o DIR] [--kinds K,...] [--force]: adopt an existing org in one command."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.context import Context

HELP = "write the live org as a desired-state directory that plans to no changes"


class _EveryKind:
    """The default of --kinds: every kind the API lists, named when shown or used. The registry
    is imported then, not when the parser of every command is built."""

    def __str__(self) -> str:
        from reconciler import kinds

        return ",".join(kinds.OBJECT_KINDS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", metavar="DIR", help="directory to write (default: ./<org>)")
    parser.add_argument(
        "--kinds",
        default=_EveryKind(),
        metavar="K,...",
        help="kinds to export (default: %(default)s)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace files of an existing directory"
    )


@dataclass(frozen=True)
class ExportParams:
    out: str | None
    kinds: tuple[str, ...]  # as listed, possibly not kinds at all
    force: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ExportParams:
        listed = str(args.kinds)  # the flag's value, or _EveryKind()
        kinds = tuple(k.strip() for k in listed.split(",") if k.strip())
        return cls(out=args.out, kinds=kinds, force=args.force)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return execute(ExportParams.from_args(args), ctx)


def execute(params: ExportParams, ctx: Context) -> int:
    from reconciler import export, files
    from reconciler import kinds as registry
    from reconciler.errors import UsageError
    from reconciler.live import connect, fetch_live, require_org
    from reconciler.settings import CONFIG_NAME, SANDBOX, resolve

    kinds = list(params.kinds)
    every = ", ".join(registry.OBJECT_KINDS)
    unknown = [k for k in kinds if k not in registry.OBJECT_KINDS]
    if unknown or not kinds:
        raise UsageError(f"--kinds: {', '.join(unknown) or 'nothing'} is not one of {every}")
    # There is no reconciler.yaml yet: org and API come from flags and the environment.
    settings = resolve(
        ctx.cwd, flag_org=ctx.org, flag_api=ctx.api, env=ctx.env, config=None, config_file=None
    )
    org = require_org(settings)
    target = ctx.cwd / (params.out or org)
    shown = ctx.display_path(target)
    files.check_writable(target, force=params.force)
    api = (
        SANDBOX
        if settings.is_sandbox
        else (None if settings.origin["api"] == "default" else settings.api)
    )
    config = _merged_config(target, shown, org, api) if params.force else None
    with connect(settings, ctx.env) as conn:
        live = fetch_live(conn.client)
    result = export.build(org, api, live, kinds)
    if config is not None:
        result.files[CONFIG_NAME] = config[0]
    gitignore = target / ".gitignore"
    state_ignored = _state_ignored(target)
    if not state_ignored and not gitignore.exists():  # a new repository: its first .gitignore
        result.files[".gitignore"] = export.GITIGNORE
    replaced, kept = _existing(target, result.files)
    if config is not None:  # said below, setting by setting
        replaced = [r for r in replaced if r != CONFIG_NAME]
    files.write_tree(target, result.files, force=params.force)
    counted = ", ".join(f"{n} {k}" for k, n in result.counts.items())
    print(
        f"Exported {counted} of org {org} to {shown}/ ({len(result.files)} files).", file=ctx.stdout
    )
    if replaced:
        print(f"Replaced {len(replaced)} existing file(s): {_listed(replaced)}", file=ctx.stdout)
    if config is not None:
        what = "; ".join(config[1]) or "org and api already agree with the export"
        print(f"{CONFIG_NAME}: your settings kept; {what}", file=ctx.stdout)
    if kept:
        documents = any(k.endswith((".yaml", ".yml")) for k in kept)
        hint = " (a document there whose object is not in the org plans as a create)"
        print(
            f"Kept {len(kept)} file(s) the export does not write: {_listed(kept)}"
            f"{hint if documents else ''}",
            file=ctx.stdout,
        )
    if ".gitignore" in result.files:
        print(
            f"Wrote {shown}/.gitignore: .reconciler/ (local state) stays out of git.",
            file=ctx.stdout,
        )
    elif not state_ignored:  # the user's own file: said, never edited
        print(
            f"note: {shown}/.gitignore does not ignore .reconciler/ (local state: the sandbox "
            "database, the record of custom-properties uploads); add the line .reconciler/ "
            "to it",
            file=ctx.stdout,
        )
    for warning in result.warnings:
        print(f"warning: {warning}", file=ctx.stdout)
    if result.secrets:
        print(
            "\nWebhook URLs are secrets and were not written. Set these variables before "
            "planning (until then plan shows them as unknown, not as changes):",
            file=ctx.stdout,
        )
        for var, what in result.secrets:
            print(f"  {var}  ({what})", file=ctx.stdout)
    table = registry.TABLE  # not exportable: the API cannot read it back
    print(
        "\nCustom properties cannot be read back from the API: to manage them, put your CSV in "
        f"{shown}/data/custom_properties.csv and add a document\n"
        f"  kind: {table.name}\n  file: data/custom_properties.csv",
        file=ctx.stdout,
    )
    print(
        f"\nNext: reconciler plan {shown} --prune --detailed-exitcode  (expect no changes)",
        file=ctx.stdout,
    )
    return 0


def _merged_config(
    target: Path, shown: str, org: str, api: str | None
) -> tuple[str, list[str]] | None:
    """``--force`` over a directory with a reconciler.yaml: that file with the export's org and
    API, and what was replaced; checked before anything is fetched or written."""
    from reconciler import export
    from reconciler.errors import InputError
    from reconciler.settings import CONFIG_NAME

    path = target / CONFIG_NAME
    if not path.is_file():
        return None
    try:
        return export.merge_config(path.read_text(encoding="utf-8"), org, api)
    except (ValueError, OSError) as exc:  # UnicodeDecodeError is a ValueError
        raise InputError(
            f"{shown}/{CONFIG_NAME}: {exc}: its settings cannot be kept; fix or remove it"
        ) from None


def _state_ignored(target: Path) -> bool:
    """Whether ``target/.reconciler/`` is git-ignored already: by the directory's .gitignore,
    or by git itself when ``target`` is (or will be) inside a work tree (a .gitignore above it,
    .git/info/exclude)."""
    import subprocess

    from reconciler import export

    try:
        if export.ignores_state((target / ".gitignore").read_text(encoding="utf-8")):
            return True
    except (OSError, UnicodeDecodeError):
        pass
    existing = next(p for p in (target, *target.parents) if p.is_dir())
    state = (target / export.STATE_DIR / "sandbox.db").relative_to(existing)
    try:
        checked = subprocess.run(
            ["git", "-C", str(existing), "check-ignore", "-q", "--", state.as_posix()],
            capture_output=True,
        )
    except OSError:  # no git here
        return False
    return checked.returncode == 0


def _existing(target: Path, written: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(files the export replaces with other content, files there it does not write), both
    relative to ``target``; dot-entries (.git, .reconciler) are not looked at."""
    if not target.is_dir():
        return [], []
    replaced = []
    for relative, text in written.items():
        path = target / relative
        try:
            if path.is_file() and path.read_text(encoding="utf-8") != text:
                replaced.append(relative)
        except (OSError, UnicodeDecodeError):
            replaced.append(relative)
    kept = []
    for dirpath, dirnames, filenames in os.walk(target):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            relative = (Path(dirpath) / name).relative_to(target).as_posix()
            if not name.startswith(".") and relative not in written:
                kept.append(relative)
    return sorted(replaced), kept


def _listed(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more

"""reconciler export [-o DIR] [--kinds K,...] [--force]: adopt an existing org in one command."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

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
    from reconciler.settings import SANDBOX, resolve

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
    files.check_writable(target, force=params.force)
    with connect(settings, ctx.env) as conn:
        live = fetch_live(conn.client)
    api = (
        SANDBOX
        if settings.is_sandbox
        else (None if settings.origin["api"] == "default" else settings.api)
    )
    result = export.build(org, api, live, kinds)
    files.write_tree(target, result.files, force=params.force)
    shown = ctx.display_path(target)
    counted = ", ".join(f"{n} {k}" for k, n in result.counts.items())
    print(
        f"Exported {counted} of org {org} to {shown}/ ({len(result.files)} files).", file=ctx.stdout
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

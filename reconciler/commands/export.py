"""reconciler export [-o DIR] [--kinds K,...] [--force]: adopt an existing org in one command."""

from __future__ import annotations

import argparse

from reconciler.context import Context

HELP = "write the live org as a desired-state directory that plans to no changes"
EXPORTABLE = ("TaggingPolicy", "Guardrail")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", metavar="DIR", help="directory to write (default: ./<org>)")
    parser.add_argument(
        "--kinds",
        default=",".join(EXPORTABLE),
        metavar="K,...",
        help=f"kinds to export (default: {','.join(EXPORTABLE)})",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace files of an existing directory"
    )


def run(args: argparse.Namespace, ctx: Context) -> int:
    from reconciler import export, files
    from reconciler.errors import UsageError
    from reconciler.live import connect, fetch_live, require_org
    from reconciler.settings import SANDBOX, resolve

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in EXPORTABLE]
    if unknown or not kinds:
        raise UsageError(
            f"--kinds: {', '.join(unknown) or 'nothing'} is not one of {', '.join(EXPORTABLE)}"
        )
    # There is no reconciler.yaml yet: org and API come from flags and the environment.
    settings = resolve(
        ctx.cwd, flag_org=args.org, flag_api=args.api, env=ctx.env, config=None, config_file=None
    )
    org = require_org(settings)
    target = ctx.cwd / (args.out or org)
    files.check_writable(target, force=args.force)
    with connect(settings, ctx.env) as conn:
        live = fetch_live(conn.client)
    api = (
        SANDBOX
        if settings.is_sandbox
        else (None if settings.origin["api"] == "default" else settings.api)
    )
    result = export.build(org, api, live, kinds)
    files.write_tree(target, result.files, force=args.force)
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
    print(
        "\nCustom properties cannot be read back from the API: to manage them, put your CSV in "
        f"{shown}/data/custom_properties.csv and add a document\n"
        "  kind: CustomProperties\n  file: data/custom_properties.csv",
        file=ctx.stdout,
    )
    print(
        f"\nNext: reconciler plan {shown} --prune --detailed-exitcode  (expect no changes)",
        file=ctx.stdout,
    )
    return 0

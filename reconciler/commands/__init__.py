"""One module per command. Each has HELP, add_arguments(parser) and run(args, ctx) -> exit code.

``run`` unpacks the parsed arguments once into the command's typed, frozen parameters and hands
them to ``execute(params, ctx)``; nothing past that reads the ``argparse.Namespace``. The global
flags are unpacked by the CLI into the Context.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Protocol

from reconciler.commands import (
    apply,
    export,
    fix_values,
    github,
    plan,
    pull,
    sandbox,
    show,
    snapshot,
    validate,
)
from reconciler.context import Context


class Command(Protocol):
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace, ctx: Context) -> int: ...


def _check(module: ModuleType) -> Command:
    command: Command = module
    return command


COMMANDS: dict[str, Command] = {
    "validate": _check(validate),
    "fix-values": _check(fix_values),
    "plan": _check(plan),
    "apply": _check(apply),
    "show": _check(show),
    "export": _check(export),
    "pull": _check(pull),
    "snapshot": _check(snapshot),
    "sandbox": _check(sandbox),
    "github": _check(github),
}

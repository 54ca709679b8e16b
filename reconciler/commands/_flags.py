"""The flags that plan and apply DIR share, parsed without importing any stage (--help stays
fast)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

PlanFormat = Literal["text", "json", "markdown"]


DIR_HELP = (
    "desired-state directory (default: the nearest one with a reconciler.yaml, at or above "
    "the current directory)"
)


@dataclass(frozen=True)
class PlanFlags:
    """What the plan covers and may delete: the flags plan and apply DIR share."""

    targets: tuple[str, ...]  # --target, as given
    excludes: tuple[str, ...]  # --exclude, as given
    prune: bool
    allow_mass_delete: bool
    baseline: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PlanFlags:
        return cls(
            targets=tuple(args.target),
            excludes=tuple(args.exclude),
            prune=args.prune,
            allow_mass_delete=args.allow_mass_delete,
            baseline=args.baseline,
        )

    def first_given(self) -> str | None:
        """The first of these flags given on the command line, or None."""
        given = (
            ("--target", bool(self.targets)),
            ("--exclude", bool(self.excludes)),
            ("--prune", self.prune),
            ("--allow-mass-delete", self.allow_mass_delete),
            ("--baseline", bool(self.baseline)),
        )
        return next((flag for flag, on in given if on), None)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="T",
        help="only Kind/Name or Kind/id:UUID (repeatable); the plan is then partial",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="T",
        help="leave out Kind/Name or Kind/id:UUID (repeatable)",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete undeclared live objects of the declared kinds (this run only)",
    )
    parser.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="allow deleting every object of a kind, or more than pruneLimit",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="git ref to compare the custom properties CSV with (default: the last upload)",
    )

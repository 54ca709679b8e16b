"""Frozen data passed between the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    file: Path
    line: int = 0  # 0: the file as a whole
    column: int = 0


@dataclass(frozen=True)
class Problem:
    """One finding of validation, located as precisely as the input allows."""

    severity: Severity
    location: Location | None
    message: str
    kind: str | None = None
    name: str | None = None
    field: str = ""
    related: Location | None = None  # "first at ...": the other place of a duplicate

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        if loc is None:
            return ("", 0, 0, self.message)
        return (str(loc.file), loc.line, loc.column, self.message)


@dataclass(frozen=True)
class SecretRef:
    """A secret-valued field read from the environment at plan and apply time."""

    env: str
    default: str | None = None


@dataclass(frozen=True)
class Resource:
    """One desired object: API attributes with schema defaults filled, files already read."""

    kind: str
    name: str
    attributes: dict[str, Any]
    location: Location
    id: str | None = None
    absent: bool = False
    protect: bool = False
    # where each allowed value came from, for messages: tag key -> file location
    sources: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomPropertiesTable:
    """The custom properties CSV: header and rows, identified by their first column."""

    location: Location
    file: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    digest: str  # sha256 of the file's bytes


@dataclass(frozen=True)
class DesiredState:
    resources: tuple[Resource, ...]
    custom_properties: CustomPropertiesTable | None
    problems: tuple[Problem, ...]
    files: int

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

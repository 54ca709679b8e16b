"""reconciler.yaml: read and check the directory's settings file."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import kinds
from reconciler.documents import Document, LoadError, load_documents
from reconciler.model import Location, Problem
from reconciler.schemas import define, field_path, load_schema, schema_errors
from reconciler.settings import CONFIG_NAME


@dataclass
class ConfigFile:
    path: Path | None  # None: the directory has no reconciler.yaml
    data: dict[str, Any] = field(default_factory=dict)
    document: Document | None = None
    problems: list[Problem] = field(default_factory=list)

    def location(self, key: str | None = None) -> Location | None:
        if self.path is None:
            return None
        if self.document is None or key is None:
            return Location(self.path, 1, 1)
        line, column = self.document.locate((key,))
        return Location(self.path, line, column)

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def load_config(directory: Path) -> ConfigFile:
    path = directory / CONFIG_NAME
    if not path.is_file():
        return ConfigFile(None)
    config = ConfigFile(path)
    try:
        documents = [d for d in load_documents(path) if d.data is not None]
    except LoadError as exc:
        config.problems.append(Problem("error", Location(path, exc.line, exc.column), exc.message))
        return config
    if len(documents) > 1:
        line, column = documents[1].locate(())
        config.problems.append(
            Problem("error", Location(path, line, column), f"{CONFIG_NAME} holds one document")
        )
    if not documents:
        return config
    document = documents[0]
    config.document = document
    if not isinstance(document.data, dict):
        config.problems.append(
            Problem("error", Location(path, 1, 1), f"{CONFIG_NAME} must be a mapping of settings")
        )
        return config
    for error in schema_errors(config_schema(), document.data):
        line, column = document.locate(error.path, key=error.on_key)
        field_name = field_path(document.data, error.path)
        config.problems.append(
            Problem("error", Location(path, line, column), error.message, field=field_name)
        )
    prune = document.data.get("prune")
    if isinstance(prune, list):
        for i, kind in enumerate(prune):
            if kind in prune[:i]:
                line, column = document.locate(("prune", i))
                config.problems.append(
                    Problem(
                        "error", Location(path, line, column), f"{kind} repeated", field="prune"
                    )
                )
    if config.valid:
        config.data = document.data
    return config


def config_schema() -> str:
    """The name of the config schema with ``prune``'s kinds taken from the registry (the file
    in schemas/ lists today's, for editors; a test keeps the two equal)."""
    prunable = kinds.prunable()
    name = f"{kinds.CONFIG_SCHEMA}#prune={','.join(prunable)}"
    if prunable != prune_enum(load_schema(kinds.CONFIG_SCHEMA)):
        schema = copy.deepcopy(load_schema(kinds.CONFIG_SCHEMA))
        prune_branch(schema)["items"]["enum"] = prunable
        define(name, schema)
        return name
    return kinds.CONFIG_SCHEMA


def prune_branch(schema: dict[str, Any]) -> dict[str, Any]:
    """The list form of ``prune`` in the config schema."""
    return next(b for b in schema["properties"]["prune"]["oneOf"] if b.get("type") == "array")


def prune_enum(schema: dict[str, Any]) -> list[str]:
    return list(prune_branch(schema)["items"]["enum"])

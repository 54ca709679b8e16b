"""reconciler.yaml: read and check the directory's settings file."""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler import kinds
from reconciler.discover import refusal
from reconciler.documents import Document, LoadError, load_documents
from reconciler.errors import ConfigError
from reconciler.model import Location, Problem
from reconciler.schemas import define, field_path, load_schema, schema_errors
from reconciler.settings import CONFIG_NAME, check_url

# The ServiceNow credentials of sources: (each {fromEnv: NAME}): a schema error under one of
# them never repeats what was written there, which may be the secret itself.
CREDENTIALS = ("user", "password", "token")


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
    if not path.exists() and not path.is_symlink():
        return ConfigFile(None)
    config = ConfigFile(path)
    refused = refusal(directory, path)  # a FIFO, or a link to outside the directory
    if refused is not None:
        config.problems.append(Problem("error", Location(path, 1, 1), refused))
        return config
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
    for error in schema_errors(config_schema(), document.data, secrets=CREDENTIALS):
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
        _check_pulls(config, document)
    if config.valid:
        config.data = document.data
    return config


def _check_pulls(config: ConfigFile, document: Document) -> None:
    """What the schema cannot say of ``sources`` and ``pull``."""
    assert config.path is not None
    data = document.data
    sources = data.get("sources") or {}

    def problem(path: tuple[str | int, ...], message: str) -> None:
        line, column = document.locate(path)
        config.problems.append(
            Problem(
                "error",
                Location(config.path or Path(), line, column),
                message,
                field=field_path(data, path),
            )
        )

    for name, source in sources.items():
        spec = source["servicenow"]
        sandbox = str(spec["instance"]).strip().lower() == "sandbox"
        where = ("sources", name, "servicenow")
        if sandbox:
            for key in ("user", "password", "token"):
                if key in spec:
                    problem((*where, key), "instance: sandbox takes no credentials")
            continue
        if spec.get("fixtures"):
            problem((*where, "fixtures"), "only for instance: sandbox")
        if "token" in spec and ("user" in spec or "password" in spec):
            problem((*where, "token"), "use a token, or user and password, not both")
        elif "token" not in spec and not ("user" in spec and "password" in spec):
            problem(where, "needs user and password (Basic auth), or token, each {fromEnv: ...}")
        try:
            check_url(str(spec["instance"]), "instance")
        except ConfigError as exc:
            problem((*where, "instance"), str(exc))
    files: dict[str, int] = {}
    for i, entry in enumerate(data.get("pull") or ()):
        name = entry["source"]
        if name not in sources:
            hint = difflib.get_close_matches(name, list(sources), n=1)
            known = (
                f'did you mean "{hint[0]}"?' if hint else f"sources: {', '.join(sources) or 'none'}"
            )
            problem(("pull", i, "source"), f'no source named "{name}" ({known})')
        file = PurePosixPath(entry["file"])
        if file.is_absolute() or ".." in file.parts:
            problem(("pull", i, "file"), "must be a path inside the directory")
        key = file.as_posix()
        if key in files:
            problem(("pull", i, "file"), f"written by pull[{files[key]}] too")
        files.setdefault(key, i)


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

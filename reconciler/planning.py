"""The stages of a plan, composed: desired state, live state, Plan. No printing, no argv.

``prepare`` reads and checks the directory; ``connect`` opens the API (the embedded sandbox,
or the real API with the token from the environment); ``fetch_live`` lists every kind once;
``make_plan`` compares. Commands call these and render the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler import hygiene_report
from reconciler.baseline import custom_properties_change
from reconciler.config import ConfigFile, load_config
from reconciler.diff import Options, build_plan
from reconciler.errors import ConfigError, InputError
from reconciler.kinds import KINDS
from reconciler.model import DesiredState, LiveObject, Plan, Problem
from reconciler.settings import CONFIG_NAME, Settings, resolve
from reconciler.validate import load_desired

if TYPE_CHECKING:
    from reconciler.client import ApiClient

SANDBOX_DB = Path(".reconciler") / "sandbox.db"


@dataclass
class Prepared:
    directory: Path
    config: ConfigFile
    settings: Settings | None  # None when the settings contradict each other (see problems)
    state: DesiredState
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def prepare(
    directory: Path, *, flag_org: str | None, flag_api: str | None, env: Mapping[str, str]
) -> Prepared:
    """Read and check a desired-state directory and its settings; every problem at once."""
    if not directory.is_dir():
        what = "is a file, not a directory" if directory.exists() else "no such directory"
        raise InputError(f"{directory}: {what}")
    config = load_config(directory)
    problems = list(config.problems)
    settings: Settings | None = None
    try:
        settings = resolve(
            directory,
            flag_org=flag_org,
            flag_api=flag_api,
            env=env,
            config=config.data,
            config_file=config.path,
        )
    except ConfigError as exc:
        from_flag = (exc.field == "org" and flag_org is not None) or (
            exc.field == "api" and flag_api is not None
        )
        if from_flag:
            raise  # a bad flag, not a problem of the files
        problems.append(
            Problem("error", config.location(exc.field), str(exc), field=exc.field or "")
        )
    state = load_desired(
        directory,
        exclude=tuple(config.data.get("exclude", ())),
        hygiene=config.data.get("hygiene"),
    )
    problems.extend(state.problems)
    problems.sort(key=Problem.sort_key)
    return Prepared(directory, config, settings, state, problems)


@dataclass(frozen=True)
class Connection:
    client: ApiClient
    org: str
    label: str  # for people: the URL, or "sandbox"
    record: str  # for plan files: the URL, or "sandbox:<db path>" (its port changes every run)


def require_org(settings: Settings) -> str:
    if not settings.org:
        raise ConfigError(f"no org: set org in {CONFIG_NAME}, INFRACOST_ORG or --org", field="org")
    return settings.org


@contextmanager
def connect(settings: Settings, env: Mapping[str, str]) -> Iterator[Connection]:
    """The API the settings name. Embedded mode never sends INFRACOST_SERVICE_TOKEN."""
    from reconciler.client import ApiClient

    org = require_org(settings)
    if settings.is_sandbox:
        from reconciler.sandbox.embedded import embedded
        from reconciler.settings import Secret

        base = settings.config_file.parent if settings.config_file else settings.dir
        db = (base / SANDBOX_DB).resolve()
        with (
            embedded(db, org) as endpoint,
            ApiClient(endpoint.base_url, org, Secret(endpoint.token)) as client,
        ):
            yield Connection(client, org, "sandbox", f"sandbox:{db}")
        return
    if settings.token is None:
        from urllib.parse import urlsplit

        from reconciler.settings import is_loopback

        if is_loopback(urlsplit(settings.api).hostname or ""):
            how = (
                "for a local sandbox server: "
                f"export INFRACOST_SERVICE_TOKEN=$(reconciler sandbox token --org {org})"
            )
        else:
            how = (
                "create a service account token in Infracost Cloud (Org Settings > API tokens) "
                "and export it"
            )
        raise ConfigError(f"INFRACOST_SERVICE_TOKEN is not set: {how}")
    with ApiClient(settings.api, org, settings.token) as client:
        yield Connection(client, org, settings.api, settings.api)


def fetch_live(client: ApiClient) -> dict[str, list[LiveObject]]:
    """One list request per kind (plus pages), never one GET per object."""
    return {name: client.list(kind) for name, kind in KINDS.items() if kind.named}


def make_plan(
    prepared: Prepared,
    live: Mapping[str, list[LiveObject]],
    options: Options,
    *,
    org: str,
    api: str,
    baseline: str | None,
    display_dir: str,
) -> Plan:
    state = prepared.state
    cp = None
    if state.custom_properties is not None and _custom_properties_selected(options):
        cp = custom_properties_change(prepared.directory, state.custom_properties, baseline)
        cp = replace(
            cp, file=_relative(state.custom_properties.file, prepared.directory).as_posix()
        )
    resources = [
        replace(
            r, location=replace(r.location, file=_relative(r.location.file, prepared.directory))
        )
        for r in state.resources
    ]
    plan = build_plan(
        resources,
        live,
        options,
        org=org,
        api=api,
        directory=display_dir,
        custom_properties=cp,
    )
    introduced = hygiene_report.introduced(state.hygiene, plan.changes)
    if introduced:
        lines = tuple(_hygiene_line(p, prepared.directory) for p in introduced)
        plan = replace(plan, hygiene=lines)
    return plan


def _custom_properties_selected(options: Options) -> bool:
    """A partial plan leaves the upload out unless a target names CustomProperties."""
    if any(t.kind == "CustomProperties" for t in options.excludes):
        return False
    return not options.targets or any(t.kind == "CustomProperties" for t in options.targets)


def _hygiene_line(problem: Problem, directory: Path) -> str:
    """``data/apps.csv:7: TaggingPolicy "Apps": tags[app_id]...: "A" and "a" differ ...``"""
    loc = problem.location
    where = f"{_relative(loc.file, directory).as_posix()}:{loc.line}: " if loc else ""
    message = problem.message.removeprefix(hygiene_report.PREFIX)
    return f'{where}{problem.kind} "{problem.name}": {problem.field}: {message}'


def _relative(file: Path, directory: Path) -> Path:
    """Sources in plans are relative to the directory: no machine's paths in plan files."""
    try:
        return file.relative_to(directory)  # files found below the directory: the usual case
    except ValueError:
        pass
    try:
        return file.resolve().relative_to(directory.resolve())
    except ValueError:
        return file


def desired_digest(directory: Path) -> str:
    """A digest of every file of the directory (YAML, CSV, config), dot-entries excepted."""
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        h.update(relative.as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()

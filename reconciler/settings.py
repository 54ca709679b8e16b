"""Settings: flag > environment > reconciler.yaml > default, plus the safety rule.

The safety rule: when reconciler.yaml sets ``org`` or ``api`` and the environment sets a
*different* value, stop unless a flag decides. Exported credentials then never turn an example
directory into writes to a real org, and a repository that says ``api: sandbox`` never "applies"
into a throwaway database in production CI.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler import secrets
from reconciler.errors import ConfigError

DEFAULT_API = "https://api.infracost.io/v1"
SANDBOX = "sandbox"
DEFAULT_PRUNE_LIMIT = 5
CONFIG_NAME = "reconciler.yaml"

ENV_TOKEN = "INFRACOST_SERVICE_TOKEN"
ENV_ORG = "INFRACOST_ORG"
ENV_API = "INFRACOST_API_URL"


class Secret:
    """A string that never shows itself in repr, str or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    dir: Path
    config_file: Path | None
    org: str | None
    api: str
    token: Secret | None = field(repr=False)
    prune: bool | tuple[str, ...] = False
    prune_limit: int = DEFAULT_PRUNE_LIMIT
    allow_mass_delete: bool = False  # allowMassDelete: the guard is off for this commit
    exclude: tuple[str, ...] = ()
    hygiene: Mapping[str, Any] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_sandbox(self) -> bool:
        return self.api == SANDBOX


def _normalize_api(value: str) -> str:
    value = value.strip()
    return SANDBOX if value.lower() == SANDBOX else value.rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host, as ``urlsplit`` gives it) is this machine: exactly
    ``localhost`` or a loopback IP address; never a name that merely starts with one
    (``localhost.evil.example``, ``127.0.0.1.nip.io``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shown_url(url: str) -> str:
    """``url`` as it may be shown in a message: a user or password in it (anything before an
    ``@`` of its authority, the part after ``scheme://``) replaced by ``***``. Works on any
    text, URL or not: what cannot be parsed is never shown with its credentials."""
    start = url.find("://")
    start = 0 if start < 0 else start + 3
    end = min((i for i in (url.find(c, start) for c in "/?#") if i >= 0), default=len(url))
    at = url.rfind("@", start, end)
    if at < 0:
        return url
    return f"{url[:start]}***{url[at:]}"


def check_url(
    url: str, what: str, *, origin: str = "", field: str | None = None, alternatives: str = ""
) -> str:
    """The one URL check of every HTTP client: ``url`` without its trailing slash if it is
    https, or plain http to a loopback address, with no user or password in it. Else a
    ConfigError that names ``what`` and where it came from (``alternatives``: what else the
    setting accepts)."""
    url = url.strip().rstrip("/")
    src = f" (from {origin})" if origin else ""
    if shown_url(url) != url:  # checked first, on the text: no message may repeat a password
        raise ConfigError(f"{what}{src} must not carry credentials (a user or password)", field)
    try:
        parts = urlsplit(url)
        host, scheme = parts.hostname, parts.scheme
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        host, scheme = None, ""
    if not host or scheme not in ("http", "https"):
        raise ConfigError(f"{what} {url!r}{src} is not an http(s) URL{alternatives}", field)
    if any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        # what urlsplit and requests might read differently (tabs, newlines, a backslash)
        raise ConfigError(
            f"{what} {url!r}{src} holds spaces, control characters or a backslash", field
        )
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{what} {url!r}{src} uses plain http; only https is allowed, "
            "except for loopback addresses",
            field,
        )
    return url


def check_api_url(api: str, origin: str) -> str:
    """The Infracost API URL: ``sandbox``, or a URL that passes ``check_url`` and has a path."""
    if api == SANDBOX:
        return api
    check_url(api, "api", origin=origin, field="api", alternatives=" or 'sandbox'")
    if urlsplit(api).path.rstrip("/") == "":
        raise ConfigError(
            f"api {api!r} (from {origin}) has no path: the API base URL includes its version, "
            "like https://api.infracost.io/v1 (a sandbox server's URL plus /v1)",
            "api",
        )
    return api


class SettingsConflict(ConfigError):
    """The safety rule: reconciler.yaml and the environment set different values, and no flag
    decides. A problem of where the command runs, not of the files."""


def _pick(
    name: str,
    flag: str | None,
    env_name: str,
    env: Mapping[str, str],
    config: Mapping[str, Any],
    config_label: str,
    normalize: Any = lambda v: v,
) -> tuple[str | None, str]:
    """Resolve one value and say where it came from; apply the safety rule."""
    env_value = env.get(env_name) or None
    config_value = config.get(name)
    if flag is not None:
        return normalize(flag), f"--{name}"
    if (
        env_value is not None
        and config_value is not None
        and normalize(env_value) != normalize(config_value)
    ):
        raise SettingsConflict(
            f'{config_label} sets {name} "{shown_url(normalize(config_value))}" but the '
            f'environment sets {env_name}="{shown_url(normalize(env_value))}"; pass --{name} '
            f"to choose one (or unset {env_name})",
            field=name,
        )
    if env_value is not None:
        return normalize(env_value), env_name
    if config_value is not None:
        return normalize(config_value), config_label
    return None, "default"


def resolve(
    directory: Path,
    *,
    flag_org: str | None,
    flag_api: str | None,
    env: Mapping[str, str],
    config: Mapping[str, Any] | None,
    config_file: Path | None,
    config_label: str = CONFIG_NAME,
) -> Settings:
    """Combine flags, environment and the (already validated) config into Settings."""
    cfg: Mapping[str, Any] = config or {}
    org, org_origin = _pick("org", flag_org, ENV_ORG, env, cfg, config_label)
    api, api_origin = _pick("api", flag_api, ENV_API, env, cfg, config_label, _normalize_api)
    if api is None:
        api, api_origin = DEFAULT_API, "default"
    check_api_url(api, api_origin)
    token_value = env.get(ENV_TOKEN) or None
    secrets.register(token_value)  # scrubbed from every message of the run
    prune_raw = cfg.get("prune", False)
    prune: bool | tuple[str, ...] = (
        tuple(prune_raw) if isinstance(prune_raw, list) else bool(prune_raw)
    )
    return Settings(
        dir=directory,
        config_file=config_file,
        org=org,
        api=api,
        token=Secret(token_value) if token_value else None,
        prune=prune,
        prune_limit=int(cfg.get("pruneLimit", DEFAULT_PRUNE_LIMIT)),
        allow_mass_delete=cfg.get("allowMassDelete") is True,
        exclude=tuple(cfg.get("exclude", ())),
        hygiene=dict(cfg.get("hygiene", {})),
        origin={"org": org_origin, "api": api_origin},
    )

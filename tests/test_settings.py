"""Settings: precedence, the safety rule, the token, and the API URL rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.settings import DEFAULT_API, SANDBOX, Secret, resolve

D = Path(".")


def settings(flag_org=None, flag_api=None, env=None, config=None):
    return resolve(
        D, flag_org=flag_org, flag_api=flag_api, env=env or {}, config=config, config_file=None
    )


def test_defaults() -> None:
    s = settings()
    assert (s.org, s.api, s.token, s.prune, s.prune_limit) == (None, DEFAULT_API, None, False, 5)


def test_flag_beats_environment_beats_config() -> None:
    assert settings(config={"org": "a"}).org == "a"
    assert settings(env={"INFRACOST_ORG": "b"}).org == "b"
    assert settings(flag_org="c", env={"INFRACOST_ORG": "b"}, config={"org": "a"}).org == "c"
    assert settings(env={"INFRACOST_ORG": "a"}, config={"org": "a"}).org == "a"


def test_environment_contradicting_config_stops_the_run() -> None:
    with pytest.raises(ConfigError) as info:
        settings(env={"INFRACOST_ORG": "acme-prod"}, config={"org": "acme"})
    assert info.value.field == "org"
    assert '"acme"' in str(info.value) and "INFRACOST_ORG" in str(info.value)
    assert "--org" in str(info.value)


def test_real_api_in_environment_never_overrides_a_sandbox_config() -> None:
    with pytest.raises(ConfigError, match="INFRACOST_API_URL"):
        settings(env={"INFRACOST_API_URL": DEFAULT_API}, config={"api": "sandbox"})
    assert settings(flag_api="sandbox", env={"INFRACOST_API_URL": DEFAULT_API}).api == SANDBOX


def test_api_values_are_compared_normalized() -> None:
    s = settings(env={"INFRACOST_API_URL": DEFAULT_API + "/"}, config={"api": DEFAULT_API})
    assert s.api == DEFAULT_API
    assert settings(config={"api": "Sandbox"}).is_sandbox


@pytest.mark.parametrize(
    "api", ["http://api.example.com/v1", "ftp://x", "not a url", "https://user:pw@api.example.com"]
)
def test_unsafe_api_urls_are_refused(api: str) -> None:
    with pytest.raises(ConfigError):
        settings(flag_api=api)


@pytest.mark.parametrize(
    "api", ["http://127.0.0.1:8787/v1", "http://localhost:1/v1", "http://[::1]:2/v1"]
)
def test_plain_http_is_allowed_on_loopback(api: str) -> None:
    assert settings(flag_api=api).api == api


def test_token_comes_only_from_the_environment_and_never_shows() -> None:
    s = settings(env={"INFRACOST_SERVICE_TOKEN": "ics_v1_supersecret"}, config={"org": "a"})
    assert isinstance(s.token, Secret)
    assert s.token.reveal() == "ics_v1_supersecret"
    for text in (repr(s), str(s), f"{s.token}", repr(s.token)):
        assert "supersecret" not in text


def test_prune_settings() -> None:
    assert settings(config={"prune": True}).prune is True
    assert settings(config={"prune": ["Guardrail"], "pruneLimit": 2}).prune == ("Guardrail",)
    assert settings(config={"pruneLimit": 0}).prune_limit == 0

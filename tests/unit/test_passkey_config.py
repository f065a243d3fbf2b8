"""The relying party's id and origins (docs/factors.md#passkeys): a domain, never an IP
address, and only origins of that domain."""

from __future__ import annotations

import pytest

from phoneverify.config import ConfigurationError
from phoneverify.passkey_config import PasskeySettings
from tests.support.settings import VALID


def settings(rp_id: str, origins: str) -> PasskeySettings:
    env = {**VALID, "WEBAUTHN_RP_ID": rp_id, "WEBAUTHN_ORIGINS": origins}
    return PasskeySettings.from_env(env)


def test_a_deploys_domain_and_its_https_origins() -> None:
    s = settings("example.com", "https://app.example.com, https://example.com:8443")
    assert s.webauthn_origins == ("https://app.example.com", "https://example.com:8443")


def test_localhost_is_the_local_stacks_rp_id_with_http() -> None:
    assert settings("localhost", "http://localhost:3000").webauthn_rp_id == "localhost"


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        ("127.0.0.1", "http://127.0.0.1:3000"),  # Chromium refuses an IP address
        ("example.com", "https://evil.example.org"),  # not the RP's domain
        ("example.com", "https://notexample.com"),  # a suffix, not a subdomain
        ("example.com", "http://app.example.com"),  # http only for localhost
        ("https://example.com", "https://example.com"),  # an id is no origin
        ("example.com", ""),
    ],
)
def test_an_rp_id_or_origin_a_browser_would_refuse_is_a_configuration_error(
    rp_id: str, origins: str
) -> None:
    with pytest.raises(ConfigurationError):
        settings(rp_id, origins)

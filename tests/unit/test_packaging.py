"""The layer and the functions ship exactly the runtime dependencies pyproject.toml declares:
the layer what every function shares, a function's own requirements.txt what only it needs."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def requirements(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_layer_and_function_requirements_are_the_pyproject_dependencies() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = requirements(ROOT / "layers/common/requirements.txt")
    own = {req for path in ROOT.glob("functions/*/requirements.txt") for req in requirements(path)}
    # several functions may carry one dependency (webauthn: each passkey function), at one pin
    assert sorted([*layer, *own]) == sorted(declared)
    assert not set(layer) & own  # never in the layer and a function both
    assert not any(req.startswith("boto3") for req in [*layer, *own])  # the runtime provides it


def test_the_layer_leaves_out_what_only_the_webhook_needs() -> None:
    layer = requirements(ROOT / "layers/common/requirements.txt")
    # 15 MB with cffi, and only the webhook function verifies signatures
    assert not any(req.startswith("cryptography") for req in layer)
    assert any(
        req.startswith("cryptography")
        for req in requirements(ROOT / "functions/webhook_telnyx/requirements.txt")
    )
    # the same API as phonenumbers without 20 MB of geocoding and carrier data
    assert any(req.startswith("phonenumberslite==") for req in layer)
    assert not any(req.startswith("phonenumbers==") for req in layer)


def test_passkey_functions_carry_webauthn_and_the_layer_does_not() -> None:
    layer = requirements(ROOT / "layers/common/requirements.txt")
    assert not any(req.startswith(("webauthn", "cbor2", "pyopenssl")) for req in layer)
    for path in ROOT.glob("functions/*passkey*/requirements.txt"):
        assert "webauthn==3.0.1" in requirements(path), path

"""`sam build` turns the template into what Lambda runs: python3.13 on arm64."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.aws_resources import load_template
from tests.support.lambda_env import ROOT

ELF_MACHINE_AARCH64 = 183


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sam = Path(sys.executable).with_name("sam")
    python313 = shutil.which("python3.13", path=str(Path(sys.executable).parent))
    if python313 is None:  # the venv was made with another Python; sam needs 3.13 on PATH
        pytest.fail("sam build needs python3.13 on PATH (make the venv with Python 3.13)")
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    subprocess.run(
        [
            str(sam),
            "build",
            "--template",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(build_dir.parent / "cache"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return build_dir


def test_every_function_and_the_layer_are_built(built: Path) -> None:
    resources = load_template()["Resources"]
    functions = [k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"]
    for function in functions:
        assert (built / function / "app.py").is_file()
    assert (built / "CommonLayer" / "python" / "phoneverify" / "flows" / "login.py").is_file()
    # data files ship with the code (the common-password list read by passwords.py)
    assert (built / "CommonLayer/python/phoneverify/data/common_passwords.txt").is_file()
    # boto3 and botocore come from the Lambda runtime: they must not bloat the layer, and a
    # botocore of the layer's (the X-Ray SDK requires one) would shadow the runtime's own
    for provided in ("boto3", "botocore", "dateutil", "urllib3"):
        assert not (built / "CommonLayer" / "python" / provided).exists(), provided
    assert (built / "CommonLayer" / "python" / "aws_xray_sdk").is_dir()


def test_native_dependencies_are_built_for_arm64_python313(built: Path) -> None:
    layer = built / "CommonLayer" / "python"
    natives = list(layer.glob("pydantic_core/*.so")) + list(layer.glob("bcrypt/*.so"))
    assert natives, "no native extension found in the layer"
    for library in natives:
        assert elf_machine(library) == ELF_MACHINE_AARCH64, library
    assert any("cpython-313-aarch64" in p.name for p in natives)


def test_the_layer_is_under_20_mb_unzipped(built: Path) -> None:
    layer = built / "CommonLayer"
    unzipped = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    assert unzipped <= 20 * 1000 * 1000, f"{unzipped / 1e6:.1f} MB"
    # the 15 MB of cryptography (and cffi) ship with the webhook function alone
    assert not (layer / "python" / "cryptography").exists()
    assert (built / "TelnyxWebhookFunction" / "cryptography").is_dir()
    # phonenumberslite: no geocoding or carrier data
    assert (layer / "python" / "phonenumbers").is_dir()
    assert not (layer / "python" / "phonenumbers" / "geodata").exists()


def test_the_layer_ships_bytecode_that_stays_valid_in_read_only_opt(built: Path) -> None:
    layer = built / "CommonLayer" / "python"
    # phoneverify: sources, and bytecode checked by hash only (flags 0b01: a hash, unchecked),
    # so a zip's rounded mtimes cannot make Lambda compile it again at every cold start
    for source in (layer / "phoneverify").rglob("*.py"):
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert cached.is_file(), source
        assert int.from_bytes(cached.read_bytes()[4:8], "little") == 0b01, cached
    # the dependencies: bytecode beside where their sources were, which are left out
    assert (layer / "pydantic" / "main.pyc").is_file()
    assert not (layer / "pydantic" / "main.py").exists()
    assert not list((layer / "aws_lambda_powertools").rglob("*.py"))

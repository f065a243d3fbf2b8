"""Finding Java and installing AWS DynamoDB Local (the jar and its native libraries).

AWS's DynamoDB Local (a Java program) is redistributed inside the npm package
``amplify-dynamodb-simulator`` under ``package/emulator/``. We fetch only that tarball with
``npm pack`` (no ``npm install``, no dependencies), check it against a pinned integrity hash,
and extract just the emulator directory into a cache directory:

* default: ``<repo>/.cache/dynamodb-local/<package version>/``
* override: environment variable ``DYNAMODB_LOCAL_DIR`` (used as the install directory itself;
  a directory that already holds ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib/`` is used as is).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from devtools.dynamodb_local.errors import DynamoDBLocalError, tail

log = logging.getLogger(__name__)

PACKAGE_NAME = "amplify-dynamodb-simulator"
PACKAGE_VERSION = "2.9.30"  # bundles DynamoDB Local 1.25.1
# npm's integrity string for the tarball above (`npm view amplify-dynamodb-simulator@2.9.30 dist`).
PACKAGE_INTEGRITY = (
    "sha512-"
    "xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="
)
ENV_INSTALL_DIR = "DYNAMODB_LOCAL_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_ROOT = REPO_ROOT / ".cache" / "dynamodb-local"

JAR = "DynamoDBLocal.jar"
LIB_DIR = "DynamoDBLocal_lib"
_TAR_PREFIX = "package/emulator/"
_MARKER = ".install.json"
_NPM_TIMEOUT_S = 900.0


def default_install_dir() -> Path:
    """``$DYNAMODB_LOCAL_DIR`` if set, else ``<repo>/.cache/dynamodb-local/<version>``."""
    override = os.environ.get(ENV_INSTALL_DIR)
    if override:
        return Path(override).expanduser().absolute()
    return DEFAULT_CACHE_ROOT / PACKAGE_VERSION


def find_java() -> str:
    """Path of the ``java`` executable (``$JAVA_HOME/bin/java`` first, then ``PATH``)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        for name in ("java", "java.exe"):
            candidate = Path(java_home) / "bin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError(
            "`java` was not found (checked $JAVA_HOME/bin and PATH). DynamoDB Local needs a "
            "Java runtime, version 11 or newer: e.g. `apt-get install openjdk-17-jre-headless` "
            "or `brew install openjdk@17`."
        )
    return java


def _find_npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            f"`npm` was not found on PATH; it is needed once to download DynamoDB Local "
            f"(npm package {PACKAGE_NAME}@{PACKAGE_VERSION}). Install Node.js/npm, or set "
            f"{ENV_INSTALL_DIR} to a directory that already contains {JAR} and {LIB_DIR}/."
        )
    return npm


def is_installed(directory: Path) -> bool:
    return (directory / JAR).is_file() and (directory / LIB_DIR).is_dir()


def ensure_installed(cache_dir: Path | None = None) -> Path:
    """Make sure DynamoDB Local is unpacked in ``cache_dir`` and return that directory.

    Idempotent and cheap once installed. The emulator is extracted into a staging directory
    next to ``cache_dir`` and renamed into place, so an interrupted or concurrent install never
    leaves a half-populated ``cache_dir``; on POSIX concurrent callers are also serialised by a
    lock file so the tarball is downloaded only once.
    """
    target = (cache_dir if cache_dir is not None else default_install_dir()).expanduser()
    target = target.absolute()
    find_java()  # fail early and clearly: the install is useless without a JVM
    if is_installed(target):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with _install_lock(target) as exclusive:
        if is_installed(target):  # another process finished while we waited for the lock
            return target
        if exclusive:
            _remove_stale_staging(target)
        if target.exists():
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()
            else:
                raise DynamoDBLocalError(
                    f"{target} exists but does not contain {JAR} and {LIB_DIR}/; "
                    "remove it or point DYNAMODB_LOCAL_DIR elsewhere."
                )
        npm = _find_npm()
        started = time.monotonic()
        log.info("Downloading %s@%s with npm pack ...", PACKAGE_NAME, PACKAGE_VERSION)
        with tempfile.TemporaryDirectory(
            prefix=f".{target.name}.staging-", dir=target.parent
        ) as tmp:
            tmp_dir = Path(tmp)
            tarball = _npm_pack(npm, tmp_dir)
            _verify_integrity(tarball)
            staging = tmp_dir / "emulator"
            _extract_emulator(tarball, staging)
            (staging / _MARKER).write_text(
                json.dumps(
                    {
                        "package": PACKAGE_NAME,
                        "version": PACKAGE_VERSION,
                        "integrity": PACKAGE_INTEGRITY,
                    },
                    indent=2,
                )
                + "\n",
                encoding="utf-8",
            )
            try:
                staging.rename(target)
            except OSError:
                if not is_installed(target):  # lost a race only if the winner is complete
                    raise
        log.info("Installed DynamoDB Local in %s (%.1fs)", target, time.monotonic() - started)
    return target


@contextlib.contextmanager
def _install_lock(target: Path) -> Iterator[bool]:
    """Exclusive lock beside ``target``; yields whether the lock is actually held."""
    if sys.platform == "win32":
        yield False
        return
    import fcntl

    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_stale_staging(target: Path) -> None:
    """Delete staging directories left by crashed installs (only call while holding the lock)."""
    for leftover in target.parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _npm_pack(npm: str, dest: Path) -> Path:
    spec = f"{PACKAGE_NAME}@{PACKAGE_VERSION}"
    cmd = [
        npm,
        "pack",
        spec,
        "--json",
        "--ignore-scripts",
        "--pack-destination",
        str(dest),
        "--loglevel=error",
    ]
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd,
            cwd=dest,
            env=env,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DynamoDBLocalError(f"`npm pack {spec}` timed out after {exc.timeout:.0f}s") from exc
    if result.returncode != 0:
        raise DynamoDBLocalError(
            f"`npm pack {spec}` failed with exit code {result.returncode}:\n"
            f"{tail(result.stderr or result.stdout)}"
        )
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise DynamoDBLocalError(
            f"`npm pack {spec}` did not produce exactly one tarball in {dest}: {tarballs}"
        )
    return tarballs[0]


def _verify_integrity(tarball: Path) -> None:
    algorithm, _, expected = PACKAGE_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm)
    with tarball.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    actual = base64.b64encode(digest.digest()).decode("ascii")
    if actual != expected:
        raise DynamoDBLocalError(
            f"{tarball.name} does not match the pinned integrity {PACKAGE_INTEGRITY} "
            f"(got {algorithm}-{actual}); refusing to use it."
        )


def _extract_emulator(tarball: Path, dest: Path) -> None:
    """Extract only ``package/emulator/**`` (regular files and directories) into ``dest``."""
    dest.mkdir()
    with tarfile.open(tarball, "r:gz") as archive:
        selected: list[tarfile.TarInfo] = []
        for member in archive.getmembers():
            if not member.name.startswith(_TAR_PREFIX):
                continue
            relative = member.name[len(_TAR_PREFIX) :].rstrip("/")
            if not relative:
                continue
            parts = PurePosixPath(relative).parts
            if (
                relative.startswith("/")
                or "\\" in relative
                or any(part in ("", ".", "..") for part in parts)
                or not (member.isfile() or member.isdir())
            ):
                raise DynamoDBLocalError(f"refusing unsafe entry {member.name!r} in {tarball}")
            selected.append(member.replace(name=relative, deep=False))
        if not selected:
            raise DynamoDBLocalError(f"{tarball} has no {_TAR_PREFIX} entries")
        # The "data" filter additionally rejects absolute/escaping paths and special files and
        # drops unsafe mode bits, as defence in depth.
        archive.extractall(dest, members=selected, filter="data")
    if not is_installed(dest):
        raise DynamoDBLocalError(f"{tarball} did not contain {JAR} and {LIB_DIR}/")

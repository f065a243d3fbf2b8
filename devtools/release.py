"""`make release VERSION=x.y.z`: tag a release once everything says it is that release.

The version lives in one place, pyproject.toml's ``[project] version`` (Semantic Versioning);
the OpenAPI document's info.version reads it (devtools/openapi.py), and template.yaml's
``Metadata.Project.Version`` states it (a template cannot read a file; a test holds the two
equal). Before tagging ``vX.Y.Z`` (annotated, never pushed: pushing is the releaser's own
step) this checks that the version is well formed, that pyproject.toml and the template say it,
that CHANGELOG.md has its section with a date (Keep a Changelog: ``## [x.y.z] - YYYY-MM-DD``),
that the work tree is clean and that no such tag exists yet.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# semver.org's grammar, without build metadata (a tag names one build).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?$"
)


class ReleaseError(Exception):
    """The tree is not ready to be tagged as the asked version."""


def project_version(root: Path = ROOT) -> str:
    """The one version source: pyproject.toml's [project] version."""
    with (root / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    return str(version)


def template_version(root: Path = ROOT) -> str:
    """What template.yaml's Metadata states (short-form tags read as plain values)."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    data = yaml.load((root / "template.yaml").read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    return str(((data or {}).get("Metadata") or {}).get("Project", {}).get("Version", ""))


def changelog_date(version: str, root: Path = ROOT) -> str | None:
    """The date of CHANGELOG.md's section for `version`, or None without one."""
    heading = re.compile(rf"^## \[{re.escape(version)}\] - (\d{{4}}-\d{{2}}-\d{{2}})\s*$", re.M)
    changelog = root / "CHANGELOG.md"
    if not changelog.is_file():
        return None
    found = heading.search(changelog.read_text(encoding="utf-8"))
    return found.group(1) if found else None


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", *args],  # noqa: S607 - git from PATH, as make finds it
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ReleaseError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def check(version: str, root: Path = ROOT) -> list[str]:
    """Every reason the tree cannot be tagged `version` (empty: it can)."""
    if not SEMVER.match(version):
        return [f"{version!r} is not a semantic version (x.y.z or x.y.z-pre)"]
    problems = []
    if (declared := project_version(root)) != version:
        problems.append(f"pyproject.toml's version is {declared}, not {version}")
    if (stated := template_version(root)) != version:
        problems.append(f"template.yaml's Metadata.Project.Version is {stated!r}, not {version}")
    if changelog_date(version, root) is None:
        problems.append(f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section")
    if dirty := _git(root, "status", "--porcelain").strip():
        problems.append(f"the work tree is not clean:\n{dirty}")
    if _git(root, "tag", "--list", f"v{version}").strip():
        problems.append(f"the tag v{version} exists already")
    return problems


def release(version: str, root: Path = ROOT) -> str:
    """Tag HEAD as v`version` (annotated, not pushed) once `check` finds nothing."""
    if problems := check(version, root):
        raise ReleaseError("\n".join(f"- {problem}" for problem in problems))
    tag = f"v{version}"
    _git(root, "tag", "--annotate", tag, "--message", f"phone-verify {version}")
    return tag


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make release VERSION=x.y.z", description=__doc__)
    parser.add_argument("version")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        tag = release(args.version, args.root)
    except ReleaseError as exc:
        print(f"release {args.version}: not tagged:\n{exc}", file=sys.stderr)
        return 1
    print(f"release {args.version}: tagged {tag}; push it with: git push origin {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

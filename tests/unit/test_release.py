"""One version source and `make release` (devtools/release.py), tried on a throwaway clone of
this repository: it tags only a clean tree whose pyproject.toml, template and changelog all say
the asked version, and it never pushes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from devtools import openapi
from devtools.release import (
    ROOT,
    SEMVER,
    ReleaseError,
    changelog_date,
    main,
    project_version,
    release,
)

GIT_IDENTITY = ["-c", "user.name=Release Test", "-c", "user.email=release@example.com"]


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """HEAD of this repository, cloned without its remote and without its tags."""
    target = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-tags", "--no-hardlinks", str(ROOT), str(target)],
        check=True,
        capture_output=True,
    )
    git(target, "remote", "remove", "origin")
    # The tag is an annotated one: the release command needs a committer identity.
    git(target, "config", "user.name", "Release Test")
    git(target, "config", "user.email", "release@example.com")
    return target


def test_the_version_is_a_semantic_one_stated_by_the_changelog_and_the_openapi_document() -> None:
    # Given pyproject.toml's version, the one source
    version = project_version()
    assert SEMVER.match(version)
    # Then the OpenAPI document's info.version reads it, and the changelog has its dated section
    assert version == openapi.VERSION
    assert changelog_date(version) is not None


def test_a_release_tags_the_current_version_without_pushing(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a clean clone at this repository's version
    version = project_version(clone)
    # When make release runs for that version
    assert main([version, "--root", str(clone)]) == 0
    # Then HEAD carries the annotated tag vX.Y.Z, and nothing was pushed (no remote at all)
    assert git(clone, "tag", "--points-at", "HEAD").split() == [f"v{version}"]
    assert git(clone, "cat-file", "-t", f"v{version}").strip() == "tag"
    assert git(clone, "remote").strip() == ""
    assert f"tagged v{version}" in capsys.readouterr().out
    # and a second release of the same version is refused
    assert main([version, "--root", str(clone)]) == 1
    assert "exists already" in capsys.readouterr().err


def test_a_release_refuses_a_version_nothing_says(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When make release runs for a version that pyproject, the template and the changelog lack
    assert main(["99.0.0", "--root", str(clone)]) == 1
    # Then it names each place and tags nothing
    err = capsys.readouterr().err
    assert "pyproject.toml's version is" in err
    assert "template.yaml's Metadata.Project.Version" in err
    assert "CHANGELOG.md has no '## [99.0.0] - YYYY-MM-DD' section" in err
    assert git(clone, "tag").strip() == ""


def test_a_release_refuses_a_dirty_tree_and_an_undated_section(clone: Path) -> None:
    version = project_version(clone)
    # Given an uncommitted change
    (clone / "README.md").write_text("changed\n", encoding="utf-8")
    # Then the release is refused and nothing is tagged
    with pytest.raises(ReleaseError, match="work tree is not clean"):
        release(version, clone)
    git(clone, "checkout", "--", "README.md")
    # Given the changelog's section without its date (committed, so the tree is clean)
    changelog = clone / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    undated = re.sub(rf"^## \[{re.escape(version)}\] - .*$", f"## [{version}]", text, flags=re.M)
    changelog.write_text(undated, encoding="utf-8")
    git(clone, "commit", "--quiet", "--all", "--message", "undated")
    with pytest.raises(ReleaseError, match="no '## \\[") as refused:
        release(version, clone)
    assert "work tree" not in str(refused.value)
    assert git(clone, "tag").strip() == ""


@pytest.mark.parametrize("version", ["1.2", "v1.2.3", "01.2.3", "1.2.3+build.5", "1.2.3-"])
def test_a_release_refuses_what_is_not_a_semantic_version(clone: Path, version: str) -> None:
    assert main([version, "--root", str(clone)]) == 1

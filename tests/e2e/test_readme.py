"""The README's walkthrough, pasted as written: every `sh` block meant to run against
`make run` (those that read `API=${API:-...}`) runs in bash against a local stack, exits 0
and prints what the README says it prints (its `# → ` lines, `...` standing for anything)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.local_stack.stack import LocalStack

README = Path(__file__).resolve().parents[2] / "README.md"
RUNS_AGAINST_MAKE_RUN = "API=${API:-http://127.0.0.1:3000}"
EXPECTED_PREFIX = "# → "


@dataclass(frozen=True)
class Block:
    heading: str
    script: str

    @property
    def expected(self) -> list[str]:
        return [
            line.removeprefix(EXPECTED_PREFIX)
            for line in self.script.splitlines()
            if line.startswith(EXPECTED_PREFIX)
        ]


def readme_blocks() -> list[Block]:
    blocks, heading = [], ""
    for match in re.finditer(r"^(##+ [^\n]+)$|^```sh\n(.*?)^```$", README.read_text(), re.M | re.S):
        if match.group(1):
            heading = match.group(1).lstrip("# ")
        elif RUNS_AGAINST_MAKE_RUN in match.group(2):
            blocks.append(Block(heading, match.group(2)))
    return blocks


def matches(expected: str, line: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, line) is not None


BLOCKS = readme_blocks()


def test_the_walkthrough_covers_sign_in_sign_up_payment_sign_out_and_password_reset() -> None:
    # Given the README, Then its runnable blocks are the journeys, each saying what it prints
    assert [block.heading for block in BLOCKS] == [
        "Sign in with a code",
        "Sign up",
        "Pay with step-up",
        "Sign out",
        "Reset a forgotten password",
    ]
    assert all(block.expected for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.heading for block in BLOCKS])
def test_a_readme_block_pasted_into_bash_prints_what_the_readme_says(
    stack: LocalStack, block: Block
) -> None:
    # Given a running stack on its own ports, named as the README says to name them
    assert stack.emulator is not None
    env = {**os.environ, "API": stack.api_url, "EMULATOR": stack.emulator.base_url}
    # When the block is pasted into bash (stopping at the first failing command)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it succeeds and prints, line by line, what the README shows
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert len(printed) == len(block.expected), result.stdout
    for expected, line in zip(block.expected, printed, strict=True):
        assert matches(expected, line), f"README says {expected!r}, the block printed {line!r}"

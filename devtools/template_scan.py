"""The template's security scan (`make scan`, part of `make test`; docs/security-scan.md).

checkov and cfn-lint with the AWS serverless rules (cfn-lint-serverless) read template.yaml
and the CloudFormation template SAM translates it into (offline, as the local gateway does:
the roles, permissions, stages and URLs SAM generates are only in that one). Every finding
must be explained by a skip with its reason, or the scan fails:

- a resource's own Metadata, for checkov: ``Metadata: checkov: skip: [{id: CKV_AWS_28,
  comment: "why"}]`` (checkov honours it on the source; the scan applies it to the resource of
  the same logical id that SAM generates, where the Metadata is not carried over);
- a line of SKIPS: ``tool check resource-pattern reason``, where the pattern is a glob over
  ``Type.LogicalId`` (``AWS::*::Function.*``: every function, SAM's and CloudFormation's).

A skip line that explains no finding fails the scan too, so the list cannot outlive its reason.
The tools run from their own virtualenv (.venv-scan: checkov's pins differ from the SAM CLI's).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.aws_resources import TEMPLATE

ROOT = TEMPLATE.parent
SKIPS = ROOT / "security-scan-skips.txt"
SCAN_VENV = ROOT / ".venv-scan"
BUILT = ROOT / ".cache" / "scan" / "template.json"
TOOLS = ("checkov", "cfn-lint")
# A deploy must name its origin; any allowed one translates the same.
DEPLOY_PARAMETERS = {"AllowedOrigin": "https://app.example.com"}
_CHECK = re.compile(r"^[A-Z][A-Z0-9_]*[0-9]$")


class ScanError(Exception):
    """The scan could not run, or its skips are malformed."""


@dataclass(frozen=True)
class Finding:
    tool: str
    check: str
    resource: str  # Type.LogicalId, as checkov names a resource
    template: str  # "source" or "built"
    title: str

    @property
    def logical_id(self) -> str:
        return self.resource.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return f"{self.template}: {self.tool} {self.check} {self.resource}: {self.title}"


@dataclass(frozen=True)
class Skip:
    tool: str
    check: str
    pattern: str
    reason: str
    where: str

    def explains(self, finding: Finding) -> bool:
        return (
            self.tool == finding.tool
            and self.check == finding.check
            and fnmatch.fnmatchcase(finding.resource, self.pattern)
        )


def read_skips(text: str, source: str = SKIPS.name) -> list[Skip]:
    """The skip file's lines: ``tool check pattern reason``; # comments and blank lines."""
    skips = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        where = f"{source}:{number}"
        if len(parts) < 4 or len(parts[3].split()) < 3:
            raise ScanError(f"{where}: want 'tool check resource-pattern reason' with a reason")
        tool, check, pattern, reason = parts
        if tool not in TOOLS:
            raise ScanError(f"{where}: unknown tool {tool!r} (one of {', '.join(TOOLS)})")
        if not _CHECK.match(check):
            raise ScanError(f"{where}: {check!r} is not a check id")
        skips.append(Skip(tool, check, pattern, reason, where))
    return skips


def metadata_skips(template: dict[str, Any]) -> list[Skip]:
    """checkov skips in the resources' Metadata; each must say why."""
    skips = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        metadata = resource.get("Metadata") or {}
        for entry in (metadata.get("checkov") or {}).get("skip") or []:
            check, comment = entry.get("id", ""), str(entry.get("comment", "")).strip()
            where = f"template.yaml Resources.{logical_id}.Metadata"
            if not _CHECK.match(check) or len(comment.split()) < 3:
                raise ScanError(f"{where}: skip {check!r} needs an id and a comment saying why")
            skips.append(Skip("checkov", check, f"*.{logical_id}", comment, where))
    return skips


def built_template(source: Path = TEMPLATE, out: Path = BUILT) -> Path:
    """SAM -> CloudFormation, offline (the local gateway's translation), written to `out`."""
    from devtools.local_gateway.template import load_template, translate

    built = translate(load_template(source.resolve()), DEPLOY_PARAMETERS, "us-east-1")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(built, indent=1, sort_keys=True), encoding="utf-8")
    return out


def _tool(name: str) -> str:
    path = SCAN_VENV / "bin" / name
    if not path.exists():
        raise ScanError(f"{path} is missing: `make scan` creates {SCAN_VENV.name}")
    return str(path)


def _commands(path: Path) -> dict[str, list[str]]:
    return {
        "checkov": [
            _tool("checkov"),
            "--skip-download",
            "--framework=cloudformation",
            "--output=json",
            "--quiet",
            "--compact",
            "--file",
            str(path),
        ],
        "cfn-lint": [
            _tool("cfn-lint"),
            "--append-rules",
            "cfn_lint_serverless.rules",
            "--format",
            "json",
            "--",
            str(path),
        ],
    }


def _types(path: Path) -> dict[str, str]:
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        from devtools.local_gateway.template import load_template

        data = load_template(path.resolve())
    return {k: str(v.get("Type", "")) for k, v in (data.get("Resources") or {}).items()}


def checkov_findings(output: str, template: str) -> list[Finding]:
    """checkov's JSON report -> its failed checks (an empty report when nothing failed)."""
    reports = json.loads(output) if output.strip() else []
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report.get("results", {}).get("failed_checks", []):
            title = failed.get("check_name", "")
            findings.append(
                Finding("checkov", failed["check_id"], failed["resource"], template, title)
            )
    return findings


def cfn_lint_findings(output: str, template: str, types: dict[str, str]) -> list[Finding]:
    """cfn-lint's JSON matches -> findings named Type.LogicalId (the template's own: '.')."""
    findings = []
    for match in json.loads(output) if output.strip() else []:
        path = match.get("Location", {}).get("Path") or []
        logical_id = str(path[1]) if len(path) > 1 and path[0] == "Resources" else ""
        resource = f"{types.get(logical_id, 'Template')}.{logical_id}"
        findings.append(
            Finding("cfn-lint", match["Rule"]["Id"], resource, template, match.get("Message", ""))
        )
    return findings


def scan(templates: dict[str, Path]) -> list[Finding]:
    """Both tools on every template, at once (each run is a few seconds of one core)."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    runs = {}
    for name, path in templates.items():
        for tool, command in _commands(path).items():
            runs[(name, tool)] = subprocess.Popen(  # noqa: S603 - our own tools, fixed arguments
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            )
    findings: list[Finding] = []
    for (name, tool), process in runs.items():
        out, err = process.communicate()
        # checkov answers 1 and cfn-lint a bit mask (2 error, 4 warning, 8 info) on findings.
        if tool == "checkov" and process.returncode not in (0, 1):
            raise ScanError(f"checkov failed on the {name} template: {err.strip()[-2000:]}")
        if (tool == "cfn-lint" and process.returncode & 1) or process.returncode < 0:
            raise ScanError(f"cfn-lint failed on the {name} template: {err.strip()[-2000:]}")
        try:
            if tool == "checkov":
                findings += checkov_findings(out, name)
            else:
                findings += cfn_lint_findings(out, name, _types(templates[name]))
        except (ValueError, KeyError) as exc:
            raise ScanError(f"{tool} on the {name} template: unreadable report ({exc})") from exc
    return findings


@dataclass(frozen=True)
class Verdict:
    unexplained: list[Finding]
    unused: list[Skip]
    explained: int


def judge(findings: Iterable[Finding], skips: Sequence[Skip]) -> Verdict:
    """Findings no skip explains, and skip lines that explain no finding."""
    used: set[int] = set()
    unexplained, explained = [], 0
    for finding in findings:
        hits = [i for i, skip in enumerate(skips) if skip.explains(finding)]
        used.update(hits)
        if hits:
            explained += 1
        else:
            unexplained.append(finding)
    unused = [
        skip
        for i, skip in enumerate(skips)
        if i not in used and not skip.where.startswith("template.yaml")
    ]
    return Verdict(unexplained, unused, explained)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.template_scan", description=__doc__)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--skips", type=Path, default=SKIPS)
    args = parser.parse_args(argv)
    try:
        from devtools.local_gateway.template import load_template

        skips = read_skips(args.skips.read_text(encoding="utf-8"), args.skips.name)
        skips += metadata_skips(load_template(args.template.resolve()))
        templates = {"source": args.template, "built": built_template(args.template)}
        verdict = judge(scan(templates), skips)
    except (ScanError, OSError) as exc:
        print(f"template scan: {exc}", file=sys.stderr)
        return 2
    for finding in verdict.unexplained:
        print(f"UNEXPLAINED {finding}", file=sys.stderr)
    for skip in verdict.unused:
        print(f"UNUSED SKIP {skip.where}: {skip.tool} {skip.check} {skip.pattern}", file=sys.stderr)
    if verdict.unexplained or verdict.unused:
        print(
            f"template scan: {len(verdict.unexplained)} finding(s) without a reason, "
            f"{len(verdict.unused)} skip(s) explaining nothing: fix the template, or add the "
            f"reason (docs/security-scan.md)",
            file=sys.stderr,
        )
        return 1
    print(
        f"template scan: checkov and cfn-lint (serverless rules) on the source and the built "
        f"template: {verdict.explained} finding(s), each a documented choice ({len(skips)} skips)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

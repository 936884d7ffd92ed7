"""The repository passes its own scan: rule files, tests and docs hold no credential (fakes are generated)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import cli
from support.toolcheck import need

ROOT = Path(__file__).resolve().parent.parent


def test_repository_passes_its_own_scan():
    need((ROOT / ".git").exists(), "needs the git checkout")
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True)
    assert "rules/openai.yaml" in tracked.stdout
    r = cli("scan", "repo", ROOT, "--no-history", "--format", "json")
    doc = json.loads(r.out)
    new = [(f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in doc["findings"] if f["status"] == "new"]
    assert new == [] and r.rc == 0, new
    assert doc["stats"]["blobs_scanned"] + doc["stats"]["files_scanned"] > 50

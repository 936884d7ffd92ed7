"""`credsweep report`: merge JSON results, compare with a previous review; the JSON loader and the result schema;
and the leak check over every format."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import cli, fake_key, record_file, record_output
from support import report_factory
from support.schema_util import result_errors, validate_result_json

from scanner.report import formats
from scanner.report.formats.base import FormatOptions
from scanner.report.formats.jsonfmt import load_report, report_dict
from scanner.report.merge import compare, merge


def _scan(root: Path, out: Path) -> dict:
    r = cli("scan", "files", root, "--format", "json", "--output", out)
    assert r.rc in (0, 1), r.err
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate_result_json(doc)
    return doc  # type: ignore[no-any-return]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_rich_report_matches_schema_and_round_trips():
    report = report_factory.build().report
    doc = report_dict(report)
    validate_result_json(doc)
    again = report_dict(load_report(json.loads(json.dumps(doc))))
    assert again == doc


def test_schema_rejects_drift():
    doc = report_dict(report_factory.build().report)
    doc["findings"][0]["severity"] = "urgent"
    doc["findings"][1]["secret"] = "x"
    del doc["scan"]["started_at"]
    errors = "\n".join(result_errors(doc))
    assert "urgent" in errors and "'secret' was unexpected" in errors and "started_at" in errors


def test_merge_and_compare(tmp_path):
    kept, fixed, added, shared = (fake_key("anthropic.api-key"), fake_key("openai.project-key"),
                                  fake_key("wandb.api-key"), fake_key("pinecone.api-key"))
    _write(tmp_path / "svc-a" / "app.py", f'KEY = "{kept}"\nOPENAI = "{fixed}"\nPINECONE = "{shared}"\n')
    _write(tmp_path / "svc-b" / "cfg.py", f'PINECONE = "{shared}"\n')
    q1 = _scan(tmp_path / "svc-a", tmp_path / "q1-a.json")
    q1b = _scan(tmp_path / "svc-b", tmp_path / "q1-b.json")
    # next quarter: the OpenAI key is gone, a W&B key appeared
    _write(tmp_path / "svc-a" / "app.py", f'KEY = "{kept}"\nWANDB = "{added}"\nPINECONE = "{shared}"\n')
    q2 = _scan(tmp_path / "svc-a", tmp_path / "q2-a.json")
    q2b = _scan(tmp_path / "svc-b", tmp_path / "q2-b.json")

    # merge: the shared key is one finding with both places
    out = tmp_path / "merged.json"
    r = cli("report", tmp_path / "q2-a.json", tmp_path / "q2-b.json", "--format", "json", "--output", out)
    assert r.rc == 0, r.err
    record_file(out)
    merged = json.loads(out.read_text())
    validate_result_json(merged)
    assert merged["scan"]["kind"] == "merged" and len(merged["scan"]["targets"]) == 2
    fps = {f["fingerprint"] for d in (q2, q2b) for f in d["findings"]}
    assert {f["fingerprint"] for f in merged["findings"]} == fps
    pine = next(f for f in merged["findings"] if f["rule_id"] == "pinecone.api-key")
    assert {loc["path"] for loc in pine["locations"]} == {"app.py", "cfg.py"}

    # compare in the library
    prev = merge([load_report(q1), load_report(q1b)])
    cur = merge([load_report(q2), load_report(q2b)])
    prev = replace(prev, started_at=cur.started_at - timedelta(days=92))
    cmp = compare(cur, prev)
    assert [i.title.split()[0] for i in cmp.new] == ["Weights"]
    assert [i.title.split()[0] for i in cmp.resolved] == ["OpenAI"]
    assert len(cmp.still_open) == 2
    assert cmp.getting_older and all(i.age_days >= 90 for i in cmp.getting_older)
    assert cmp.mean_days_to_remediate == pytest.approx(92)

    # and through the CLI, in every report format
    prev_file = tmp_path / "prev.json"
    prev_file.write_text(json.dumps(report_dict(prev)), encoding="utf-8")
    for fmt in ("markdown", "html", "sarif", "json"):
        target = tmp_path / f"review.{fmt}"
        r = cli("report", tmp_path / "q2-a.json", tmp_path / "q2-b.json", "--compare", prev_file,
                "--format", fmt, "--output", target)
        assert r.rc == 0, r.err
        record_file(target)
    md = (tmp_path / "review.markdown").read_text()
    assert "New: **1** · resolved: **1** · still open: **2** · getting older: **2** · mean time to remediate: " \
           "**92 days**" in md
    html = (tmp_path / "review.html").read_text()
    assert "Since the last review" in html and "Weights &amp; Biases" in html
    for key in (kept, fixed, added, shared):
        assert key not in md and key not in html


def test_report_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    r = cli("report", bad)
    assert r.rc == 3 and "not JSON" in r.err and "Traceback" not in r.err
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    r = cli("report", other)
    assert r.rc == 3 and "not a credsweep JSON result" in r.err
    r = cli("report", tmp_path / "missing.json")
    assert r.rc == 2


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "sarif-cloud", "html", "markdown"])
def test_no_secret_in_any_format(fmt):
    planted = report_factory.build()
    older = report_factory.build(started=report_factory.NOW - timedelta(days=60))
    name = fmt.removesuffix("-cloud")
    opts = FormatOptions(include_cloud=fmt.endswith("-cloud"), compare=older.report, history=(older.report,),
                         verbose=True)
    text = formats.get(name)(planted.report, opts)
    record_output(text, f"format-{fmt}")
    assert text.strip()
    for value in planted.values + older.values:
        assert value not in text
        assert value[len(value) // 4 : -len(value) // 4] not in text  # not even the middle of it
    if name == "json":
        validate_result_json(text)

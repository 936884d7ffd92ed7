"""The structure pass through the real CLI: one finding per secret across both passes, exact lines, decoded
findings, references in the JSON result, parse errors as skips, and ``--no-structure``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import cli, fake_key, record_file


def _scan(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path.parent / f"{tmp_path.name}-result.json"
    r = cli("scan", "files", tmp_path, "--format", "json", "--output", out, *extra)
    record_file(out)
    assert r.rc in (0, 1), r.err
    return json.loads(out.read_text())


def _places(doc: dict) -> dict[str, list[tuple[str, int, str | None, str | None]]]:
    return {f["rule_id"]: [(loc["path"], loc["line"], loc["key_path"], loc["decoded"]) for loc in f["locations"]]
            for f in doc["findings"]}


def test_one_finding_per_secret_when_both_passes_see_it(tmp_path):
    key = fake_key("openai.project-key")
    (tmp_path / "app.yaml").write_text(f"llm:\n  provider: openai\n  api_key: {key}\n")
    doc = _scan(tmp_path)
    [f] = doc["findings"]
    assert f["rule_id"] == "openai.project-key"
    [loc] = f["locations"]
    assert (loc["path"], loc["line"], loc["column"], loc["key_path"]) == ("app.yaml", 3, 12, "llm.api_key")
    assert f["context_key"] == "api_key"


def test_kubernetes_secret_decoded_and_reference_counted(tmp_path):
    key = fake_key("anthropic.api-key")
    encoded = base64.b64encode(key.encode()).decode()
    (tmp_path / "secret.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: llm\ndata:\n  ANTHROPIC_API_KEY: {encoded}\n---\n"
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: app\n      env:\n"
        "        - name: OPENAI_API_KEY\n          valueFrom:\n            secretKeyRef: {name: llm, key: k}\n")
    doc = _scan(tmp_path)
    assert [f["rule_id"] for f in doc["findings"]] == ["anthropic.api-key"]
    assert _places(doc)["anthropic.api-key"] == [("secret.yaml", 6, "data.ANTHROPIC_API_KEY", "base64")]
    assert doc["summary"]["references"] == 1
    [ref] = doc["references"]
    assert (ref["name"], ref["reference"], ref["provider"], ref["location"]["line"]) == (
        "OPENAI_API_KEY", "k8s-secretKeyRef", "OpenAI", 14)
    assert key not in json.dumps(doc) and encoded not in json.dumps(doc)


def test_key_name_finding_with_inferred_provider(tmp_path):
    value = fake_key("keyname.huggingface-token")
    (tmp_path / ".env").write_text(f"# local\nHF_TOKEN={value}\nOPENAI_API_KEY=${{OPENAI_API_KEY}}\n")
    doc = _scan(tmp_path)
    [f] = doc["findings"]
    assert (f["rule_id"], f["provider"], f["confidence"]) == ("keyname.huggingface-token", "Hugging Face", "low")
    assert (f["location"]["line"], f["location"]["column"]) == (2, 10)
    assert [(r["name"], r["reference"]) for r in doc["references"]] == [("OPENAI_API_KEY", "env")]


def test_no_structure_turns_the_pass_off(tmp_path):
    key = fake_key("anthropic.api-key")
    encoded = base64.b64encode(key.encode()).decode()
    (tmp_path / "secret.yaml").write_text(f"kind: Secret\ndata:\n  ANTHROPIC_API_KEY: {encoded}\n"
                                          "  REF: ${VAR}\n  OPENAI_API_KEY: ${OPENAI_API_KEY}\n")
    doc = _scan(tmp_path, "--no-structure")
    assert "anthropic.api-key" not in _places(doc)
    assert doc["references"] == []


def test_parse_error_falls_back_to_text_scan_with_a_skip(tmp_path):
    key = fake_key("openai.project-key")
    (tmp_path / "broken.json").write_text(f'{{\n  "api_key": "{key}",\n  "oops": [1, 2\n')
    doc = _scan(tmp_path)
    assert _places(doc)["openai.project-key"] == [("broken.json", 2, None, None)]
    [skip] = doc["skipped"]
    assert (skip["target"], skip["reason"]) == ("broken.json", "parse-error")
    assert "JSON" in skip["detail"] and key not in skip["detail"]


def test_plain_source_tree_is_unchanged(tmp_path):
    key = fake_key("openai.project-key")
    (tmp_path / "main.py").write_text(f'import os\nAPI_KEY = "{key}"\n')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    with_structure, without = _scan(tmp_path), _scan(tmp_path, "--no-structure")
    assert _places(with_structure) == _places(without)

"""The newcomer contract (issue 15): the shipped rules folder checks clean, infrastructure names are not keys,
dependency folders are skipped by default, bad input gets a one-line error with a documented exit code, and the
README's options table matches ``--help``."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli, fake_key, record_file

ROOT = Path(__file__).resolve().parent.parent


def test_rules_check_passes_on_the_shipped_rules_folder():
    r = cli("rules", "check", ROOT / "rules")
    assert r.rc == 0, r.out + r.err
    assert "_runbooks" not in r.out + r.err
    assert " 0 error(s)" in r.out


CLOUDFORMATION = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: Chat API behind API Gateway, with a usage plan and an AppSync API key
Resources:
  ChatApiKey:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Name: chat-api-key
      Enabled: true
      StageKeys:
        - RestApiId: !Ref ChatApi
          StageName: prod
  UsagePlanKey:
    Type: "AWS::ApiGateway::UsagePlanKey"
    Properties:
      KeyId: !Ref ChatApiKey
      KeyType: API_KEY
      UsagePlanId: !Ref UsagePlan
  GraphqlApiKey:
    Type: AWS::AppSync::ApiKey
    Properties:
      ApiId: !GetAtt GraphqlApi.ApiId
  ChatFunction:
    Type: AWS::Lambda::Function
    Properties:
      Environment:
        Variables:
          API_KEY_RESOURCE: AWS::ApiGateway::ApiKey
          ApiKey: AWS::AppSync::ApiKey
Outputs:
  ApiKey:
    Value: !Ref ChatApiKey
  GraphqlApiKey:
    Value: !GetAtt GraphqlApiKey.ApiKey
"""

TERRAFORM = """\
resource "aws_api_gateway_api_key" "chat_api_key" {
  name    = "chat-api-key"
  enabled = true
}

resource "aws_api_gateway_usage_plan_key" "main" {
  key_id        = aws_api_gateway_api_key.chat_api_key.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.main.id
}

resource "aws_appsync_api_key" "graphql" {
  api_id = aws_appsync_graphql_api.main.id
}

locals {
  api_key      = aws_api_gateway_api_key.chat_api_key.id
  appsync_key  = aws_appsync_api_key.graphql.key
  api_key_type = "AWS::ApiGateway::ApiKey"
}

output "api_key" {
  value     = aws_api_gateway_api_key.chat_api_key.value
  sensitive = true
}
"""


def test_resource_type_names_are_not_keys(tmp_path):
    (tmp_path / "template.yaml").write_text(CLOUDFORMATION, encoding="utf-8")
    (tmp_path / "template.json").write_text(json.dumps(
        {"Resources": {"ApiKey": {"Type": "AWS::ApiGateway::ApiKey"},
                       "GraphqlApiKey": {"Type": "AWS::AppSync::ApiKey", "Properties": {"ApiId": "abc"}}},
         "Outputs": {"ApiKey": {"Value": "AWS::ApiGateway::ApiKey"}}}, indent=2), encoding="utf-8")
    (tmp_path / "main.tf").write_text(TERRAFORM, encoding="utf-8")
    r = cli("scan", "files", tmp_path, "--format", "json")
    assert r.rc == 0, r.err
    doc = json.loads(r.out)
    assert doc["findings"] == [] and doc["stats"]["files_scanned"] == 3
    # a real key next to them is still found: the filter is about the values, not the files
    key = fake_key("openai.project-key")
    (tmp_path / "main.tf").write_text(TERRAFORM + f'\nlocals {{\n  openai_api_key = "{key}"\n}}\n', encoding="utf-8")
    r = cli("scan", "files", tmp_path, "--format", "json")
    assert r.rc == 1, r.err
    assert [f["rule_id"] for f in json.loads(r.out)["findings"]] == ["openai.project-key"]


DEPENDENCY_FOLDERS = (".venv/lib/python3.12/site-packages/somepkg/tests", "node_modules/somelib/test/fixtures",
                      "venv", "dist", "build/lib", "pkg/__pycache__", ".tox/py312", ".nox/tests", "lib/site-packages")


def test_dependency_folders_skipped_by_default_and_scanned_with_include_deps(tmp_path):
    own = fake_key("anthropic.api-key")
    (tmp_path / "app.py").write_text(f'KEY = "{own}"\n', encoding="utf-8")
    for folder in DEPENDENCY_FOLDERS:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "conf.py").write_text(f'KEY = "{fake_key("openai.project-key")}"\n', encoding="utf-8")
    out = tmp_path / "result.json"
    r = cli("scan", "files", tmp_path, "--format", "json", "-o", out)
    assert r.rc == 1, r.err
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [f["location"]["path"] for f in doc["findings"]] == ["app.py"]
    skipped = {s["target"] for s in doc["skipped"] if s["reason"] == "dependency-folder"}
    assert skipped == {".venv", "node_modules", "venv", "dist", "build", "pkg/__pycache__", ".tox", ".nox",
                       "lib/site-packages"}
    assert doc["summary"]["skipped"] == len(doc["skipped"]) >= 9
    r = cli("scan", "files", tmp_path, "-q")
    assert r.rc == 1 and "Not scanned: 9 dependency-folder" in r.out, r.out  # the count, in the text summary
    r = cli("scan", "files", tmp_path, "--include-deps", "--format", "json", "-o", out)
    assert r.rc == 1, r.err
    record_file(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    paths = {f["location"]["path"] for f in doc["findings"]} | {
        loc["path"] for f in doc["findings"] for loc in f.get("locations", [])}
    assert {"app.py", *(f"{d}/conf.py" for d in DEPENDENCY_FOLDERS)} <= paths
    assert not [s for s in doc["skipped"] if s["reason"] == "dependency-folder"]


def test_a_dependency_folder_named_as_the_target_is_scanned(tmp_path):
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text(f'k = "{fake_key("openai.project-key")}"\n', encoding="utf-8")
    r = cli("scan", "files", tmp_path / "node_modules", "-q")
    assert r.rc == 1, r.err
    r = cli("scan", "files", tmp_path, "-q")
    assert r.rc == 0, r.err

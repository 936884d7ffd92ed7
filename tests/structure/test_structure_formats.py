"""The structure pass on every configuration format: exact lines, key paths, decoding, key-name rules and
references, through ``analyse()`` directly. Every fixture is built at test time from fake keys."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from conftest import fake_key

from scanner.detect.matcher import Matcher
from scanner.detect.ruleset import load_builtin
from scanner.structure import analyse

# A secret-named value no vendor rule knows is reported once: by a generic text rule when one matches the
# ``name=value`` line, else by the generic key-name rule (provider key-name rules win over both).
GENERIC = {"generic.api-key", "generic.password", "keyname.api-key", "keyname.token", "keyname.password",
           "keyname.secret", "keyname.basic-auth", "keyname.private-key"}


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_builtin(), engine="re2")


def run(matcher: Matcher, path: str, text: str):
    result = analyse(matcher, text.encode(), source="file", path=path, root=None, commit=None)
    assert result is not None, f"{path} was not treated as configuration"
    return result


def hits(result) -> dict[str, tuple[str, int, str | None, str | None]]:
    """secret -> (rule id, line, key path, decoded)."""
    return {d.match.secret.value: (d.match.rule_id, d.match.location.line, d.match.location.key_path,
                                   d.match.location.decoded) for d in result.detected}


def refs(result) -> set[tuple[str, str, int]]:
    return {(r.name, r.reference, r.location.line) for r in result.references}


def test_env_file(matcher):
    vendor, named = fake_key("openai.project-key"), fake_key("keyname.anthropic-api-key")
    text = (f"# settings\nexport OPENAI_API_KEY={vendor}\nANTHROPIC_API_KEY='{named}'\nHF_TOKEN=${{HF_TOKEN}}\n"
            "MISTRAL_API_KEY=your-mistral-key\nEMPTY_TOKEN=\n")
    r = run(matcher, "deploy/.env.production", text)
    h = hits(r)
    assert h[vendor] == ("openai.project-key", 2, "OPENAI_API_KEY", None)
    assert h[named] == ("keyname.anthropic-api-key", 3, "ANTHROPIC_API_KEY", None)
    assert len(h) == 2  # placeholder and empty value are not findings
    assert refs(r) == {("HF_TOKEN", "env", 4)}
    [ref] = r.references
    assert ref.provider == "Hugging Face"


def test_kubernetes_secret_deployment_and_args(matcher):
    data_key, string_key = fake_key("anthropic.api-key"), fake_key("keyname.openai-api-key")
    env_key, arg_key = fake_key("keyname.huggingface-token"), fake_key("keyname.api-key")
    encoded = base64.b64encode(data_key.encode()).decode()
    text = f"""apiVersion: v1
kind: Secret
metadata:
  name: llm
data:
  ANTHROPIC_API_KEY: {encoded}
stringData:
  OPENAI_API_KEY: "{string_key}"
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai
          args:
            - --model
            - Qwen/Qwen2.5-7B
            - --api-key
            - "{arg_key}"
          env:
            - name: OPENAI_API_KEY
              valueFrom:
                secretKeyRef: {{name: llm, key: OPENAI_API_KEY}}
            - name: HF_TOKEN
              value: {env_key}
"""
    r = run(matcher, "k8s/deploy.yaml", text)
    h = hits(r)
    assert h[data_key] == ("anthropic.api-key", 6, "data.ANTHROPIC_API_KEY", "base64")
    assert h[string_key] == ("keyname.openai-api-key", 8, "stringData.OPENAI_API_KEY", None)
    assert h[arg_key][1:] == (22, "spec.template.spec.containers[0].args.--api-key", None)
    assert h[arg_key][0] in ("keyname.api-key", "generic.api-key")
    assert h[env_key] == ("keyname.huggingface-token", 28, "spec.template.spec.containers[0].env[1].HF_TOKEN", None)
    assert ("OPENAI_API_KEY", "k8s-secretKeyRef", 24) in refs(r)


def test_kubeconfig(matcher):
    token, key_data = fake_key("keyname.token"), base64.b64encode(b"\x01" * 8 + fake_key("keyname.token").encode() * 3)
    exec_key = fake_key("keyname.openai-api-key")
    text = f"""apiVersion: v1
kind: Config
users:
  - name: admin
    user:
      token: {token}
  - name: cert
    user:
      client-key-data: {key_data.decode()}
  - name: sso
    user:
      exec:
        command: aws
        env:
          - name: OPENAI_API_KEY
            value: {exec_key}
"""
    r = run(matcher, "home/.kube/config", text)
    h = hits(r)
    assert h[token][1:3] == (6, "users[0].user.token")
    assert h[key_data.decode()][:3] == ("keyname.private-key", 9, "users[1].user.client-key-data")
    assert h[exec_key][:2] == ("keyname.openai-api-key", 16)


def test_docker_compose_environment_list_and_command(matcher):
    vendor, named, flag = fake_key("openai.project-key"), fake_key("keyname.huggingface-token"), fake_key("vllm.api-key")
    text = f"""services:
  api:
    image: app
    environment:
      - OPENAI_API_KEY={vendor}
      - LOG_LEVEL=info
  llm:
    image: vllm/vllm-openai
    command: --model x --api-key {flag}
    environment:
      HF_TOKEN: {named}
"""
    h = hits(run(matcher, "docker-compose.yml", text))
    assert h[vendor] == ("openai.project-key", 5, "services.api.environment[0].OPENAI_API_KEY", None)
    assert h[flag][1] == 9
    assert h[named] == ("keyname.huggingface-token", 11, "services.llm.environment.HF_TOKEN", None)


def test_helm_template_parses_and_templates_are_references(matcher):
    text = """apiVersion: v1
kind: Secret
metadata:
  name: {{ include "chart.fullname" . }}
{{- if .Values.openai.enabled }}
stringData:
  OPENAI_API_KEY: {{ .Values.openai.apiKey | quote }}
{{- end }}
"""
    r = run(matcher, "chart/templates/secret.yaml", text)
    assert r.detected == [] and r.skipped == []
    assert refs(r) == {("OPENAI_API_KEY", "template", 7)}


def test_helm_values(matcher):
    named = fake_key("keyname.openai-api-key")
    text = f"openai:\n  enabled: true\n  apiKey: {named}\nanthropic:\n  apiKey: \"\"\n"
    h = hits(run(matcher, "chart/values.yaml", text))
    assert h == {named: ("keyname.openai-api-key", 3, "openai.apiKey", None)}


def test_github_actions_workflow(matcher):
    named = fake_key("keyname.huggingface-token")
    text = f"""name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    env:
      OPENAI_API_KEY: ${{{{ secrets.OPENAI_API_KEY }}}}
      HF_TOKEN: {named}
    steps:
      - run: pytest
"""
    r = run(matcher, ".github/workflows/ci.yml", text)
    assert hits(r) == {named: ("keyname.huggingface-token", 8, "jobs.test.env.HF_TOKEN", None)}
    assert refs(r) == {("OPENAI_API_KEY", "github-secrets", 7)}


def test_litellm_proxy_config(matcher):
    named, master = fake_key("keyname.anthropic-api-key"), fake_key("keyname.litellm-master-key")
    text = f"""model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet
      api_key: {named}
general_settings:
  master_key: {master}
"""
    r = run(matcher, "litellm/config.yaml", text)
    h = hits(r)
    assert h[named] == ("keyname.anthropic-api-key", 9, "model_list[1].litellm_params.api_key", None)
    assert h[master] == ("keyname.litellm-master-key", 11, "general_settings.master_key", None)
    assert ("api_key", "env", 5) in refs(r)


def test_json_config_with_escapes_and_lines(matcher):
    vendor, named = fake_key("openai.project-key"), fake_key("keyname.token")
    escaped = "\\u0073" + vendor[1:]  # "s" written as \u0073: invisible to text matching
    text = ('{\n  "service": {\n    "name": "x",\n'
            f'    "openai": {{"apiKey": "{escaped}"}},\n'
            f'    "auth_token": "{named}"\n  }}\n}}\n')
    h = hits(run(matcher, "config/settings.json", text))
    assert h[vendor] == ("openai.project-key", 4, "service.openai.apiKey", "json-escape")
    assert h[named][1:] == (5, "service.auth_token", None)


def test_docker_config_auths(matcher):
    password = fake_key("keyname.password")
    auth = base64.b64encode(f"builder:{password}".encode()).decode()
    text = json.dumps({"auths": {"registry.example.test": {"auth": auth}}}, indent=2)
    h = hits(run(matcher, "home/.docker/config.json", text))
    assert h[auth][1:] == (4, "auths.registry.example.test.auth", None)
    assert h[auth][0] in GENERIC


def test_toml(matcher):
    named, other = fake_key("keyname.openai-api-key"), fake_key("keyname.secret")
    text = f'title = "app"\n\n[openai]\nmodel = "gpt-4o"\napi_key = "{named}"\n\n[[hooks]]\nname = "a"\n\n[[hooks]]\nsecret = "{other}"\n'
    h = hits(run(matcher, "config.toml", text))
    assert h[named] == ("keyname.openai-api-key", 5, "openai.api_key", None)
    assert h[other][1:] == (11, "hooks[1].secret", None)


def test_ini_pip_conf_url_password(matcher):
    password = fake_key("keyname.password")
    text = f"[global]\ntimeout = 60\nindex-url = https://ci:{quote(password)}@pypi.example.test/simple\n"
    h = hits(run(matcher, "etc/pip.conf", text))
    secret = next(s for s in h if password in s or s == password)
    assert h[secret][1] == 3


def test_pypirc_npmrc_netrc(matcher):
    pw, tok, net = fake_key("keyname.password"), fake_key("keyname.token"), fake_key("keyname.password")
    h = hits(run(matcher, ".pypirc", f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = ci\npassword = {pw}\n"))
    assert h[pw][1:3] == (6, "pypi.password") and h[pw][0] in GENERIC
    h = hits(run(matcher, "proj/.npmrc", f"registry=https://registry.example.test/\n//registry.example.test/:_authToken={tok}\n"))
    assert h[tok][1] == 2 and h[tok][0] in GENERIC
    h = hits(run(matcher, "home/.netrc", f"machine api.example.test\n  login ci\n  password {net}\n"))
    assert h[net][1:] == (3, "machine api.example.test.password", None) and h[net][0] in GENERIC


def test_java_properties(matcher):
    named = fake_key("keyname.openai-api-key")
    h = hits(run(matcher, "src/main/resources/application.properties",
                 f"# app\nserver.port=8080\nspring.ai.openai.api-key={named}\n"))
    assert h[named] == ("keyname.openai-api-key", 3, "spring.ai.openai.api-key", None)


def test_dockerfile(matcher):
    vendor, named, flag = fake_key("openai.project-key"), fake_key("keyname.huggingface-token"), fake_key("keyname.api-key")
    text = (f"FROM python:3.12\nARG HF_TOKEN={named}\nENV PORT=8000 \\\n    OPENAI_API_KEY={vendor}\n"
            f'CMD ["vllm", "serve", "m", "--api-key", "{flag}"]\n')
    h = hits(run(matcher, "Dockerfile", text))
    assert h[named] == ("keyname.huggingface-token", 2, "ARG.HF_TOKEN", None)
    assert h[vendor] == ("openai.project-key", 4, "ENV.OPENAI_API_KEY", None)
    assert h[flag][1] == 5


def test_terraform(matcher):
    named = fake_key("keyname.openai-api-key")
    text = f"""variable "openai_api_key" {{
  type    = string
  default = "{named}"
}}

resource "kubernetes_secret" "llm" {{
  data = {{
    api_key = var.openai_api_key
  }}
}}
"""
    r = run(matcher, "infra/main.tf", text)
    assert hits(r) == {named: ("keyname.openai-api-key", 3, "variable.openai_api_key.default", None)}
    assert ("api_key", "terraform", 8) in refs(r)


def test_notebook_sources_and_outputs(matcher):
    vendor, named = fake_key("openai.project-key"), fake_key("keyname.anthropic-api-key")
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Demo\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": [f"using {vendor}\n"]}],
         "source": ["import os\n", f'os.environ["ANTHROPIC_API_KEY"] = "{named}"\n']}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(nb, indent=1)
    lines = text.split("\n")
    h = hits(run(matcher, "notebooks/demo.ipynb", text))
    assert h[vendor][:2] == ("openai.project-key", next(i for i, x in enumerate(lines, 1) if "using " in x))
    assert h[named][:2] == ("keyname.anthropic-api-key", next(i for i, x in enumerate(lines, 1) if "environ" in x))


def test_url_encoded_and_nested_base64_json(matcher):
    vendor, inner = fake_key("anthropic.api-key"), fake_key("openai.project-key")
    blob = base64.b64encode(json.dumps({"providers": {"openai": {"key": inner}}}).encode()).decode()
    text = f"WEBHOOK=https://hooks.example.test/x?key={quote(vendor, safe='')}%0A\nCONFIG_BLOB={blob}\n"
    h = hits(run(matcher, ".env", text))
    assert h[vendor][1] == 1
    assert h[inner][1:] == (2, "CONFIG_BLOB.providers.openai.key", "base64")


def test_parse_error_is_a_skip_with_a_line(matcher):
    r = run(matcher, "broken.yaml", "api_key: s3cr3t-v4lue-2024 [unclosed\nother: {\n")  # credsweep:allow (fake)
    [skip] = r.skipped
    assert skip.reason == "parse-error" and "YAML" in skip.detail and skip.target == "broken.yaml"
    assert r.detected == []


@pytest.mark.parametrize("path", ["src/app.py", "README.md", "lib/thing.js", "data.csv"])
def test_non_configuration_is_left_to_the_text_pass(matcher, path):
    assert analyse(matcher, b"OPENAI_API_KEY = 'x'\n", source="file", path=path, root=None, commit=None) is None


def test_configuration_without_secret_names_is_not_parsed(matcher):
    assert analyse(matcher, b"[tool.black]\nline-length = 100\n", source="file", path="pyproject.toml",
                   root=None, commit=None) is None


def test_placeholders_are_not_findings(matcher):
    text = "\n".join(f"{k}: {v}" for k, v in [
        ("OPENAI_API_KEY", "<OPENAI_API_KEY>"), ("HF_TOKEN", "xxxxxxxxxxxxxxxx"), ("api_key", "your-api-key-here"),
        ("password", "changeme"), ("token", ""), ("secret", "null"), ("ANTHROPIC_API_KEY", "sk-ant-..."),
        ("db_password", "${DB_PASSWORD}"), ("vault_token", "vault:secret/data/app#token"),
        ("aws_key", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf"),
    ]) + "\n"
    r = run(matcher, "values.yaml", text)
    assert r.detected == []
    assert {x[1] for x in refs(r)} == {"env", "vault", "aws-secretsmanager"}


def test_allow_comment_applies_to_structure_findings(matcher):
    named = fake_key("keyname.openai-api-key")
    r = run(matcher, "app.yaml", f"openai:\n  api_key: {named}  # credsweep:allow test fixture\n")
    [d] = r.detected
    assert d.allowed

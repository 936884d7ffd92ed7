"""Verification safety: the verify-block schema, the test-only override's loopback rule, no network without
--verify, limits and caching; plus scope readers (Hugging Face, xAI, OpenRouter, AWS STS) through rule files."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import cli, fake_key
from support.verify_server import LocalHttps, by_rule, https_server_fixture, scan_json  # noqa: F401

from scanner.detect.ruleset import load_builtin, rules_from_text
from scanner.detect.verifyspec import parse, verify_problems
from scanner.errors import UsageError
from scanner.model import Confidence, Finding, Location, RuleId, Severity
from scanner.redact import SecretHasher
from scanner.verify.client import Request, Response
from scanner.verify.options import VerifyOptions, parse_hosts, parse_overrides
from scanner.verify.verifier import Verifier

GOOD = {"url": "https://api.example.com/v1/me", "headers": {"Authorization": "Bearer {secret}"}}


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(("change", "problem"), [
    ({"url": "http://api.example.com/v1/me"}, "https"),
    ({"url": "https://{host}/v1/me"}, "host: NAME"),
    ({"url": "https://api.{host}.com/v1/me", "host": "x"}, "whole host"),
    ({"url": "https://api.example.com/{host}/me"}, "placeholder"),
    ({"url": "https://api.example.com/v1/me?key={secret}"}, "never in the URL"),
    ({"url": "https://10.1.2.3/v1/me"}, "IP address"),
    ({"url": "https://metadata.internal/v1/me"}, "public DNS name"),
    ({"url": "https://user:pw@api.example.com/"}, "user information"),
    ({"method": "POST"}, "read_only"),
    ({"method": "DELETE"}, "GET, HEAD or POST"),
    ({"method": "PUT", "read_only": True, "note": "x"}, "GET, HEAD or POST"),
    ({"headers": {"Authorization": "Bearer"}}, "carries {secret}"),
    ({"headers": {"Authorization": "Bearer {secret}", "X-Host": "{host}"}}, "only placeholder"),
    ({"live": [200], "invalid": [200]}, "overlap"),
    ({"concurrency": 50}, "concurrency"),
    ({"bogus": 1}, "unknown field"),
    ({"host": "databricks"}, "only meaningful"),
    ({"type": "none"}, "note"),
])
def test_unsafe_or_malformed_verify_blocks_are_rule_errors(change, problem):
    problems = verify_problems({**GOOD, **change})
    assert any(problem in p for p in problems), problems


def test_good_blocks_parse():
    spec, problems = parse({**GOOD, "identity": [{"json": "name"}], "scopes": [{"header": "X-OAuth-Scopes"}]})
    assert problems == [] and spec is not None
    assert spec.official_host == "api.example.com"
    spec, problems = parse({"method": "POST", "read_only": True, "note": "auth.test changes nothing",
                            "url": "https://slack.com/api/auth.test", "headers": {"Authorization": "Bearer {secret}"}})
    assert problems == []
    spec, problems = parse({"url": "https://{host}/v1/auth/token/lookup-self", "host": "vault",
                            "headers": {"X-Vault-Token": "{secret}"}})
    assert problems == [] and spec is not None and spec.official_host is None


def test_every_builtin_verify_block_is_valid_and_sends_keys_only_over_https():
    with_verify = [r for r in load_builtin() if r.verify is not None]
    assert len(with_verify) >= 20
    for rule in with_verify:
        assert verify_problems(rule.verify) == [], rule.id


def test_rules_check_reports_an_unsafe_verify_block(tmp_path):
    rule_file = tmp_path / "mine.yaml"
    rule_file.write_text(_rule_yaml("mine.token", "mytok_", "url: http://api.mine.com/me"))
    r = cli("rules", "check", rule_file)
    assert r.rc != 0
    assert "https" in r.out + r.err


# --------------------------------------------------------------------------- the test-only override


def test_override_accepts_loopback_only():
    assert parse_overrides("api.openai.com=https://127.0.0.1:8443") == {"api.openai.com": "https://127.0.0.1:8443"}
    assert parse_overrides('{"api.openai.com": "https://[::1]:9"}') == {"api.openai.com": "https://[::1]:9"}
    assert parse_overrides("api.openai.com=https://localhost:1")
    for bad in ("api.openai.com=https://10.0.0.5:443", "api.openai.com=https://evil.example.com",
                "api.openai.com=https://127.0.0.1.nip.io:443"):
        with pytest.raises(UsageError, match="refusing"):
            parse_overrides(bad)
    with pytest.raises(UsageError, match="https"):
        parse_overrides("api.openai.com=http://127.0.0.1:80")
    assert parse_overrides("api.openai.com=https://10.0.0.5:443", allow_nonloopback=True)


def test_cli_refuses_a_non_loopback_override(tmp_path):
    key = fake_key("openai.project-key")
    (tmp_path / "a.env").write_text(f"OPENAI_API_KEY={key}\n")
    env = {"CREDSWEEP_VERIFY_BASE_URL_OVERRIDE": "api.openai.com=https://203.0.113.9:443"}
    r = cli("scan", "files", tmp_path, "--verify", env=env)
    assert r.rc == 2
    assert "refusing" in r.err and "CREDSWEEP_VERIFY_ALLOW_NONLOOPBACK_OVERRIDE" in r.err
    assert key not in r.err


def test_cli_allows_a_non_loopback_override_only_when_explicitly_allowed(tmp_path):
    (tmp_path / "a.env").write_text("nothing here\n")
    env = {"CREDSWEEP_VERIFY_BASE_URL_OVERRIDE": "api.openai.com=https://203.0.113.9:443",
           "CREDSWEEP_VERIFY_ALLOW_NONLOOPBACK_OVERRIDE": "1"}
    r = cli("scan", "files", tmp_path, "--verify", env=env)
    assert r.rc == 0, r.err


def test_verify_host_parsing():
    assert parse_hosts(["databricks=https://ADB-1.azuredatabricks.net/", "vault=vault.x.com:8200"]) == {
        "databricks": "adb-1.azuredatabricks.net", "vault": "vault.x.com:8200"}
    for bad in ("databricks", "vault=https://v.x.com/path", "=x.com", "vault=a b"):
        with pytest.raises(UsageError):
            parse_hosts([bad])


# --------------------------------------------------------------------------- no network without --verify


def test_without_verify_no_request_is_made(tmp_path, https_server):
    keys = [fake_key(r) for r in ("openai.project-key", "github.pat", "slack.bot-token", "npm.access-token")]
    https_server.server.expect_request("/").respond_with_json({})
    text = "".join(f"KEY{i}={k}\n" for i, k in enumerate(keys))
    rc, doc, err = scan_json(tmp_path, text, env=https_server.env())
    assert rc == 1, err
    assert len(doc["findings"]) == 4
    assert all(f["verification"] is None or f["verification"]["status"].startswith("offline")
               for f in doc["findings"])
    assert len(https_server.server.log) == 0
    assert "--verify checked" not in " ".join(doc["notes"])


def test_only_live_needs_verify(tmp_path):
    (tmp_path / "a.env").write_text("x\n")
    r = cli("scan", "files", tmp_path, "--only-live")
    assert r.rc == 2 and "--only-live needs --verify" in r.err


def test_verify_module_is_not_imported_without_verify():
    import subprocess
    import sys

    code = ("import sys; from scanner.commands import scan_files; import scanner.engine; "
            "print('scanner.verify.verifier' in sys.modules, 'botocore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --------------------------------------------------------------------------- limits, cache, budget (in process)


def _finding(rule_id: str, fp: str) -> Finding:
    return Finding(fingerprint=fp, rule_id=RuleId(rule_id), rule_name=rule_id, provider="X", category="generic",
                   kind="api-key", severity=Severity.HIGH, confidence=Confidence.HIGH, secret_hash="h", redacted="r",
                   locations=(Location(source="file", path="a", line=1),))


def test_per_host_concurrency_limit_and_cache():
    """Requests to one host overlap up to the limit, never beyond: the first ones are held (a condition wait, not a
    sleep) until two are in flight at once, so a limit of 1 would time the gate out and a missing limit would show a
    peak above 2."""
    [rule] = rules_from_text(_rule_yaml("lim.token", "limtok_", "url: https://api.lim.com/me\n      concurrency: 2"),
                             "test")
    in_flight, peak, calls = [0], [0], []
    lock = threading.Lock()
    two_in_flight = threading.Event()

    def transport(req: Request, timeout: float) -> Response:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            calls.append(req.url)
            if in_flight[0] >= 2:
                two_in_flight.set()
        gate_opened = two_in_flight.wait(timeout=10)
        with lock:
            in_flight[0] -= 1
        return Response(200 if gate_opened else 500, {}, b"{}")

    values = {f"fp{i}": f"limtok_{i % 6:040d}" for i in range(12)}  # 6 distinct keys, each twice
    findings = tuple(_finding("lim.token", fp) for fp in values)
    v = Verifier(VerifyOptions(enabled=True, timeout=60), transport=transport)
    out, notes = v.verify(findings, values, {}, {"lim.token": rule}, SecretHasher(b"k"))
    assert all(f.verification is not None and f.verification.status == "live" for f in out)
    assert len(calls) == 6  # cached by secret
    assert peak[0] == 2
    assert "12 finding(s) with 6 request(s)" in notes[0]


def test_global_budget_marks_the_rest_unknown():
    """A structural bound, not a wall-clock one: at one request a second and a 1.5 s budget, at most two requests
    can start; every finding not answered is unknown because of the budget, and none is dropped."""
    [rule] = rules_from_text(_rule_yaml("slow.token", "slowtok_", "url: https://api.slow.com/me\n      concurrency: 1\n      per_second: 1"),
                             "test")
    calls: list[str] = []

    def transport(req: Request, timeout: float) -> Response:
        calls.append(req.url)
        return Response(200, {}, b"{}")

    values = {f"fp{i}": f"slowtok_{i:040d}" for i in range(5)}
    findings = tuple(_finding("slow.token", fp) for fp in values)
    out, _ = Verifier(VerifyOptions(enabled=True, timeout=1.5), transport=transport).verify(
        findings, values, {}, {"slow.token": rule}, SecretHasher(b"k"))
    assert 1 <= len(calls) <= 2
    assert len(out) == 5 and all(f.verification for f in out)
    statuses = [f.verification.status for f in out if f.verification]
    assert statuses.count("live") == len(calls)
    unknown = [f.verification for f in out if f.verification and f.verification.status == "unknown"]
    assert len(unknown) == 5 - len(calls) and all("budget" in (u.detail or "") for u in unknown), unknown


# --------------------------------------------------------------------------- scope readers, via user rule files


def _rule_yaml(rid: str, prefix: str, verify: str, body: str = "[A-Za-z0-9]{40}") -> str:
    return f"""rules:
  - id: {rid}
    name: test rule {rid}
    provider: Test
    category: ai-inference
    kind: api-key
    severity: high
    pattern: '(?:^|[^A-Za-z0-9_-])({prefix}{body})(?:[^A-Za-z0-9_-]|$)'
    keywords: [{prefix}]
    description: test
    remediation: [rotate it]
    verify:
      {verify}
      headers: {{Authorization: "Bearer {{secret}}"}}
    examples: ['K=[[{prefix}{{{{alnum:40}}}}]]']
    negative_examples: ['K={prefix}short']
"""


def test_hugging_face_whoami_role_and_fine_grained_scopes(tmp_path, https_server):
    key = fake_key("huggingface.access-token")
    https_server.server.expect_request("/api/whoami-v2", headers={"Authorization": f"Bearer {key}"}).respond_with_json({
        "type": "user", "name": "alice", "orgs": [{"name": "acme-ml", "roleInOrg": "admin"}],
        "auth": {"type": "access_token", "accessToken": {"displayName": "ci", "role": "fineGrained", "fineGrained": {
            "global": ["discussion.write"],
            "scoped": [{"entity": {"type": "org", "name": "acme-ml"}, "permissions": ["repo.content.read", "repo.write"]}]}}}})
    rc, doc, err = scan_json(tmp_path, f"HF_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["huggingface.access-token"]["verification"]
    assert v["status"] == "live", err
    assert v["identity"] == "alice, token:ci"
    assert v["scopes"] == ["role:fineGrained", "discussion.write", "repo.content.read", "repo.write"]
    assert "org:acme-ml" in v["detail"]


def test_xai_acls_and_blocked_key(tmp_path, https_server):
    live, blocked = fake_key("xai.api-key"), fake_key("xai.api-key")
    https_server.server.expect_request("/v1/api-key", headers={"Authorization": f"Bearer {live}"}).respond_with_json({
        "redacted_api_key": live[:6] + "****", "name": "prod", "team_id": "t-1", "acls": ["api-key:model:*", "api-key:endpoint:*"],
        "api_key_blocked": False, "api_key_disabled": False})
    https_server.server.expect_request("/v1/api-key", headers={"Authorization": f"Bearer {blocked}"}).respond_with_json({
        "name": "old", "acls": [], "api_key_blocked": True, "api_key_disabled": False})
    rc, doc, err = scan_json(tmp_path, f"XAI_API_KEY={live}\nOLD_XAI_KEY={blocked}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    found = {f["redacted"]: f["verification"] for f in doc["findings"]}
    statuses = sorted(v["status"] for v in found.values())
    assert statuses == ["invalid", "live"]
    [live_v] = [v for v in found.values() if v["status"] == "live"]
    assert live_v["identity"] == "prod, team:t-1"
    assert live_v["scopes"] == ["api-key:model:*", "api-key:endpoint:*"]


def test_openrouter_provisioning_key_is_admin(tmp_path, https_server):
    key = fake_key("openrouter.api-key")
    https_server.server.expect_request("/api/v1/key").respond_with_json(
        {"data": {"label": "sk-or-v1-abc...xyz", "is_provisioning_key": True, "limit_remaining": 12.5, "usage": 3}})
    rc, doc, err = scan_json(tmp_path, f"OPENROUTER_API_KEY={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    f = by_rule(doc)["openrouter.api-key"]
    assert f["verification"]["scopes"] == ["provisioning_key=true"]
    assert "limit_remaining=12.5" in f["verification"]["detail"]
    assert f["severity"] == "critical"


@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn>"
          "<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
     "live"),
    (403, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code></Error></ErrorResponse>", "invalid"),
    (400, "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>", "unknown"),
])
def test_aws_pair_is_checked_with_a_signed_get_caller_identity(tmp_path, https_server, status, body, expected):
    key_id, secret = fake_key("aws.access-key-id"), fake_key("aws.secret-access-key")
    https_server.server.expect_request("/", method="POST").respond_with_data(body, status=status, content_type="text/xml")
    text = f"[default]\naws_access_key_id = {key_id}\nregion = us-east-1\naws_secret_access_key = {secret}\n"
    rc, doc, err = scan_json(tmp_path, text, "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["aws.access-key-id"]["verification"]
    assert v["status"] == expected, (v, err)
    req = https_server.server.log[0][0]
    assert req.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={key_id}/")
    assert "/us-east-1/sts/aws4_request" in req.headers["Authorization"]
    assert secret not in str(req.headers)
    assert len(https_server.server.log) == 1
    assert req.get_data() == b"Action=GetCallerIdentity&Version=2011-06-15"
    if expected == "live":
        assert v["identity"] == "arn:aws:iam::123456789012:user/ci"
    pair = by_rule(doc)["aws.secret-access-key"]["verification"]
    assert pair["status"] == expected and "together with its key id" in pair["detail"]


def test_aws_key_id_without_a_secret_nearby_is_not_sent(tmp_path, https_server):
    key_id = fake_key("aws.access-key-id")
    rc, doc, err = scan_json(tmp_path, f"AWS_ACCESS_KEY_ID={key_id}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["aws.access-key-id"]["verification"]
    assert v["status"] == "unknown" and "no secret access key" in v["detail"]
    assert len(https_server.server.log) == 0


def test_temporary_aws_key_is_not_sent_without_its_session_token(tmp_path, https_server):
    key_id, secret = fake_key("aws.access-key-id", 1), fake_key("aws.secret-access-key")
    assert key_id.startswith("ASIA")
    text = f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    rc, doc, err = scan_json(tmp_path, text, "--verify", env=https_server.env())
    assert rc == 1, err
    assert "only long-term AKIA" in by_rule(doc)["aws.access-key-id"]["verification"]["detail"]
    assert len(https_server.server.log) == 0


def test_docs_list_the_request_of_every_rule_with_a_verify_block():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "verification.md").read_text(encoding="utf-8")
    missing = [r.id for r in load_builtin() if r.verify is not None and f"`{r.id}`" not in doc]
    assert missing == [], "add these rules to the table in docs/verification.md"

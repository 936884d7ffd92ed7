"""``--verify`` end to end: the real CLI against a local HTTPS server that answers like each provider."""

from __future__ import annotations

import pytest
from conftest import fake_key
from support.verify_server import LocalHttps, by_rule, https_server_fixture, scan_json  # noqa: F401
from werkzeug import Request, Response

pytestmark = pytest.mark.slow

# rule id, line template, path, method, auth header, header value template, JSON answer, response headers
LIVE_CASES = [
    ("openai.project-key", "OPENAI_API_KEY={key}", "/v1/models", "GET", "Authorization", "Bearer {key}",
     {"object": "list", "data": [{"id": "gpt-x"}]}, {"openai-organization": "org-acme"}),
    ("anthropic.api-key", "ANTHROPIC_API_KEY={key}", "/v1/models", "GET", "x-api-key", "{key}",
     {"data": []}, {"anthropic-organization-id": "org-7"}),
    ("langsmith.personal-access-token", "LANGSMITH_API_KEY={key}", "/api/v1/api-key/current", "GET", "X-API-Key",
     "{key}", {"id": "k1"}, {}),
    ("npm.access-token", "NPM_TOKEN={key}", "/-/whoami", "GET", "Authorization", "Bearer {key}",
     {"username": "npm-bot"}, {}),
    ("slack.bot-token", "SLACK_BOT_TOKEN={key}", "/api/auth.test", "POST", "Authorization", "Bearer {key}",
     {"ok": True, "team": "Acme", "user": "deploybot", "bot_id": "B01"}, {"x-oauth-scopes": "chat:write,users:read"}),
    ("github.pat", "GITHUB_TOKEN={key}", "/user", "GET", "Authorization", "Bearer {key}",
     {"login": "octocat", "site_admin": False}, {"X-OAuth-Scopes": "repo, read:org"}),
    ("groq.api-key", "GROQ_API_KEY={key}", "/openai/v1/models", "GET", "Authorization", "Bearer {key}", {"data": []}, {}),
    ("replicate.api-token", "REPLICATE_API_TOKEN={key}", "/v1/account", "GET", "Authorization", "Bearer {key}",
     {"type": "organization", "username": "acme"}, {}),
    ("mistral.api-key", "MISTRAL_API_KEY={key}", "/v1/models", "GET", "Authorization", "Bearer {key}", {"data": []}, {}),
    ("cohere.api-key", "CO_API_KEY={key}", "/v1/connectors", "GET", "Authorization", "Bearer {key}",
     {"connectors": [], "total_count": 0}, {}),
    ("deepseek.api-key", "DEEPSEEK_API_KEY={key}", "/models", "GET", "Authorization", "Bearer {key}", {"data": []}, {}),
    ("together.api-key", "TOGETHER_API_KEY={key}", "/v1/models", "GET", "Authorization", "Bearer {key}", [], {}),
    ("fireworks.api-key", "FIREWORKS_API_KEY={key}", "/inference/v1/models", "GET", "Authorization", "Bearer {key}",
     {"data": []}, {}),
    ("elevenlabs.api-key", "ELEVENLABS_API_KEY={key}", "/v1/user", "GET", "xi-api-key", "{key}",
     {"subscription": {"tier": "creator"}}, {}),
    ("deepgram.api-key", "DEEPGRAM_API_KEY={key}", "/v1/projects", "GET", "Authorization", "Token {key}",
     {"projects": [{"project_id": "p1", "name": "speech-prod"}]}, {}),
    ("huggingface.access-token", "HF_TOKEN={key}", "/api/whoami-v2", "GET", "Authorization", "Bearer {key}",
     {"name": "alice", "auth": {"accessToken": {"role": "read"}}}, {}),
    ("openrouter.api-key", "OPENROUTER_API_KEY={key}", "/api/v1/key", "GET", "Authorization", "Bearer {key}",
     {"data": {"label": "ci", "is_provisioning_key": False}}, {}),
    ("xai.api-key", "XAI_API_KEY={key}", "/v1/api-key", "GET", "Authorization", "Bearer {key}",
     {"name": "prod", "acls": ["api-key:model:*"], "api_key_blocked": False, "api_key_disabled": False}, {}),
    ("docker.personal-access-token", "DOCKER_TOKEN={key}", "/v2/user/", "GET", "Authorization", "Bearer {key}",
     {"username": "acme"}, {}),
    ("pinecone.api-key", "PINECONE_API_KEY={key}", "/indexes", "GET", "Api-Key", "{key}", {"indexes": []}, {}),
    ("openai.admin-key", "OPENAI_ADMIN_KEY={key}", "/v1/organization/admin_api_keys", "GET", "Authorization",
     "Bearer {key}", {"data": []}, {}),
]


def _expect(server: LocalHttps, path: str, method: str, header: str, value: str, body: object, status: int = 200,
            headers: dict[str, str] | None = None) -> None:
    server.server.expect_request(path, method=method, headers={header: value}).respond_with_json(
        body, status=status, headers=headers or {})


@pytest.mark.parametrize(("rule_id", "line", "path", "method", "header", "value", "answer", "resp_headers"),
                         LIVE_CASES, ids=[c[0] for c in LIVE_CASES])
def test_live_key_is_reported_live_with_identity(tmp_path, https_server, rule_id, line, path, method, header, value,
                                                  answer, resp_headers):
    key = fake_key(rule_id)
    _expect(https_server, path, method, header, value.format(key=key), answer, headers=resp_headers)
    rc, doc, err = scan_json(tmp_path, line.format(key=key) + "\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)[rule_id]["verification"]
    assert v["status"] == "live", v
    assert v["checked_at"]
    assert "127.0.0.1" not in v["detail"]  # the report names the provider's host, not the test server
    assert len(https_server.server.log) == 1
    req = https_server.server.log[0][0]
    assert req.headers.get("User-Agent", "").startswith("credsweep/")


def test_identity_and_scopes_are_read(tmp_path, https_server):
    key = fake_key("slack.bot-token")
    _expect(https_server, "/api/auth.test", "POST", "Authorization", f"Bearer {key}",
            {"ok": True, "team": "Acme", "user": "deploybot", "bot_id": "B01"},
            headers={"x-oauth-scopes": "chat:write,users:read"})
    rc, doc, err = scan_json(tmp_path, f"SLACK_BOT_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["slack.bot-token"]["verification"]
    assert v["identity"] == "team:Acme, user:deploybot, bot:B01"
    assert v["scopes"] == ["chat:write", "users:read"]
    assert "slack.com" in v["detail"]


def test_github_admin_scope_makes_the_finding_critical(tmp_path, https_server):
    key = fake_key("github.pat")
    _expect(https_server, "/user", "GET", "Authorization", f"Bearer {key}", {"login": "octocat", "site_admin": False},
            headers={"X-OAuth-Scopes": "repo, admin:org, workflow"})
    rc, doc, err = scan_json(tmp_path, f"GITHUB_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    f = by_rule(doc)["github.pat"]
    assert f["verification"]["identity"] == "octocat"
    assert "admin:org" in f["verification"]["scopes"]
    assert f["severity"] == "critical"
    assert "admin scope" in f["severity_reason"]


def test_admin_key_kind_is_critical_when_live(tmp_path, https_server):
    key = fake_key("anthropic.admin-key")
    _expect(https_server, "/v1/organizations/me", "GET", "x-api-key", key, {"id": "org-1", "name": "Acme AI"})
    rc, doc, err = scan_json(tmp_path, f"ANTHROPIC_ADMIN_KEY={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    f = by_rule(doc)["anthropic.admin-key"]
    assert f["verification"]["identity"] == "org:Acme AI, org-id:org-1"
    assert f["severity"] == "critical" and "admin" in f["severity_reason"]


@pytest.mark.parametrize(("status", "expected"), [(401, "invalid"), (403, "live"), (429, "unknown"), (500, "unknown"),
                                                  (302, "unknown")])
def test_openai_status_codes(tmp_path, https_server, status, expected):
    key = fake_key("openai.project-key")
    _expect(https_server, "/v1/models", "GET", "Authorization", f"Bearer {key}", {"error": {"code": "x"}},
            status=status, headers={"Location": "https://elsewhere.example/"} if status == 302 else None)
    rc, doc, err = scan_json(tmp_path, f"OPENAI_API_KEY={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["openai.project-key"]["verification"]
    assert v["status"] == expected, v
    if status == 403:
        assert "restricted" in v["scopes"]
    if status == 429:
        assert "rate limited" in v["detail"]
    assert len(https_server.server.log) == 1  # no retry, and a redirect is never followed


def test_slack_answers_invalid_auth_with_200(tmp_path, https_server):
    key = fake_key("slack.user-token")
    _expect(https_server, "/api/auth.test", "POST", "Authorization", f"Bearer {key}", {"ok": False, "error": "invalid_auth"})
    rc, doc, err = scan_json(tmp_path, f"SLACK_USER_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    assert by_rule(doc)["slack.user-token"]["verification"]["status"] == "invalid"


def test_slack_other_error_is_unknown(tmp_path, https_server):
    key = fake_key("slack.bot-token")
    _expect(https_server, "/api/auth.test", "POST", "Authorization", f"Bearer {key}", {"ok": False, "error": "fatal_error"})
    rc, doc, err = scan_json(tmp_path, f"SLACK_BOT_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    assert by_rule(doc)["slack.bot-token"]["verification"]["status"] == "unknown"


def test_malformed_json_is_unknown(tmp_path, https_server):
    key = fake_key("github.pat")
    https_server.server.expect_request("/user").respond_with_data("<html>oops", status=200,
                                                                  content_type="application/json")
    rc, doc, err = scan_json(tmp_path, f"GITHUB_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["github.pat"]["verification"]
    assert v["status"] == "unknown" and "not JSON" in v["detail"]


def test_untrusted_invalid_answer_is_unknown(tmp_path, https_server):
    """GitLab: a 401 from gitlab.com may be a self-managed instance's token, so it is not called invalid."""
    key = fake_key("gitlab.pat")
    _expect(https_server, "/api/v4/user", "GET", "PRIVATE-TOKEN", key, {"message": "401 Unauthorized"}, status=401)
    rc, doc, err = scan_json(tmp_path, f"GITLAB_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["gitlab.pat"]["verification"]
    assert v["status"] == "unknown" and "self-managed" in v["detail"]


def test_pinecone_403_is_live_but_restricted(tmp_path, https_server):
    key = fake_key("pinecone.api-key")
    _expect(https_server, "/indexes", "GET", "Api-Key", key, {"error": "forbidden"}, status=403)
    rc, doc, err = scan_json(tmp_path, f"PINECONE_API_KEY={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["pinecone.api-key"]["verification"]
    assert v["status"] == "live" and "restricted" in v["scopes"]


def test_timeout_gives_unknown_within_the_budget(tmp_path, https_server):
    """The server holds the request until the test releases it (no sleep, no wall-clock bound): the scan can only
    finish while the request is still unanswered because the --verify-timeout budget cut it off."""
    import threading

    key = fake_key("npm.access-token")
    arrived, release = threading.Event(), threading.Event()

    def held(request: Request) -> Response:
        arrived.set()
        release.wait(timeout=120)  # a guard only: the test releases it as soon as the scan returns
        return Response('{"username": "late"}', status=200, content_type="application/json")

    https_server.server.expect_request("/-/whoami").respond_with_handler(held)
    try:
        rc, doc, err = scan_json(tmp_path, f"NPM_TOKEN={key}\n", "--verify", "--verify-timeout", "1",
                                 env=https_server.env())
        unanswered = not release.is_set()
    finally:
        release.set()
    assert rc == 1, err
    assert arrived.is_set() and unanswered  # the request was sent and the scan did not wait for its answer
    v = by_rule(doc)["npm.access-token"]["verification"]
    assert v["status"] == "unknown", v


def test_each_key_is_checked_once_per_run(tmp_path, https_server):
    key = fake_key("npm.access-token")
    _expect(https_server, "/-/whoami", "GET", "Authorization", f"Bearer {key}", {"username": "npm-bot"})
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "other.env").write_text(f"NPM_TOKEN={key}\n")
    rc, doc, err = scan_json(tmp_path, f"NPM_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    f = by_rule(doc)["npm.access-token"]
    assert len(f["locations"]) == 2
    assert len(https_server.server.log) == 1


def test_only_live_filters_results(tmp_path, https_server):
    live, dead = fake_key("npm.access-token"), fake_key("openai.project-key")
    _expect(https_server, "/-/whoami", "GET", "Authorization", f"Bearer {live}", {"username": "npm-bot"})
    _expect(https_server, "/v1/models", "GET", "Authorization", f"Bearer {dead}", {"error": {}}, status=401)
    rc, doc, _ = scan_json(tmp_path, f"NPM_TOKEN={live}\nOPENAI_API_KEY={dead}\n", "--verify", "--only-live",
                           env=https_server.env())
    assert rc == 1
    assert list(by_rule(doc)) == ["npm.access-token"]


def test_databricks_needs_a_user_host(tmp_path, https_server):
    key = fake_key("databricks.pat")
    rc, doc, err = scan_json(tmp_path, f"DATABRICKS_TOKEN={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["databricks.pat"]["verification"]
    assert v["status"] == "unknown" and "--verify-host databricks=" in v["detail"]
    assert len(https_server.server.log) == 0


def test_databricks_with_user_host(tmp_path, https_server):
    key = fake_key("databricks.pat")
    _expect(https_server, "/api/2.0/preview/scim/v2/Me", "GET", "Authorization", f"Bearer {key}",
            {"userName": "ml@acme.test", "groups": [{"display": "admins"}, {"display": "users"}]})
    rc, doc, err = scan_json(tmp_path, f"DATABRICKS_TOKEN={key}\n", "--verify", "--verify-host",
                          "databricks=adb-1234.azuredatabricks.net", env=https_server.env())
    assert rc == 1, err
    f = by_rule(doc)["databricks.pat"]
    assert f["verification"]["status"] == "live"
    assert f["verification"]["identity"] == "ml@acme.test"
    assert f["verification"]["scopes"] == ["group:admins", "group:users"]
    assert f["severity"] == "critical"
    assert "adb-1234.azuredatabricks.net" in f["verification"]["detail"]


def test_databricks_host_outside_the_rule_patterns_is_refused(tmp_path, https_server):
    key = fake_key("databricks.pat")
    rc, doc, err = scan_json(tmp_path, f"DATABRICKS_TOKEN={key}\n", "--verify", "--verify-host",
                          "databricks=vault.corp.example.com", env=https_server.env())
    assert rc == 1, err
    assert by_rule(doc)["databricks.pat"]["verification"]["status"] == "unknown"
    assert len(https_server.server.log) == 0


def test_vault_lookup_self_with_user_host(tmp_path, https_server):
    key = fake_key("vault.service-token")
    _expect(https_server, "/v1/auth/token/lookup-self", "GET", "X-Vault-Token", key,
            {"data": {"display_name": "token-ci", "policies": ["default", "root"], "ttl": 0, "renewable": False}})
    rc, doc, err = scan_json(tmp_path, f"VAULT_TOKEN={key}\n", "--verify", "--verify-host",
                          "vault=vault.corp.example.com:8200", env=https_server.env())
    assert rc == 1, err
    f = by_rule(doc)["vault.service-token"]
    assert f["verification"]["status"] == "live"
    assert f["verification"]["scopes"] == ["policy:default", "policy:root"]
    assert "ttl=0" in f["verification"]["detail"]
    assert f["severity"] == "critical"


def test_rule_without_read_only_check_makes_no_request(tmp_path, https_server):
    key = fake_key("slack.webhook-url")
    rc, doc, err = scan_json(tmp_path, f"SLACK_WEBHOOK={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["slack.webhook-url"]["verification"]
    assert v["status"] == "unknown" and "no read-only check" in v["detail"]
    assert len(https_server.server.log) == 0


def test_elevenlabs_missing_permissions_is_live_but_restricted(tmp_path, https_server):
    key = fake_key("elevenlabs.api-key")
    _expect(https_server, "/v1/user", "GET", "xi-api-key", key,
            {"detail": {"status": "missing_permissions", "message": "lacks user_read"}}, status=401)
    rc, doc, err = scan_json(tmp_path, f"ELEVENLABS_API_KEY={key}\n", "--verify", env=https_server.env())
    assert rc == 1, err
    v = by_rule(doc)["elevenlabs.api-key"]["verification"]
    assert v["status"] == "live" and "restricted" in v["scopes"]

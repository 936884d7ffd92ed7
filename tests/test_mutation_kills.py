"""Focused unit tests of the security-critical functions, written to kill the mutants the rest of the suite let live.

The end-to-end tests run the CLI in a subprocess, which mutation testing (``bench/mutation/``) cannot see into;
these call the functions directly (no mocking: real inputs, real files in tmp_path) and pin each boundary the
mutants moved: expiry days, severity thresholds, loopback checks, placeholder and entropy cut-offs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from scanner.commands._common import exit_code
from scanner.detect.filters import (
    _LOCK_FILES,
    _PLACEHOLDER_WORDS,
    _is_sequential,
    generic_name_noise,
    generic_noise,
    is_known_example,
    is_lock_file,
    is_placeholder,
    shannon_entropy,
)
from scanner.detect.verifyspec import VerifySpec, _check_url
from scanner.errors import ConfigError, UsageError
from scanner.hygiene.correlate import (
    _active,
    _cred_place,
    _days,
    _finding_places,
    _in_store,
    _label,
    _leak_phrase,
    _repo,
    _stored_phrase,
    summary,
)
from scanner.model import (
    CommitInfo,
    Confidence,
    Credential,
    Finding,
    GitProvenance,
    Location,
    Report,
    RuleId,
    Severity,
    Violation,
)
from scanner.redact import SecretHasher
from scanner.report.suppress import IgnoreEntry, ignore_entry_toml, load_baseline, load_ignore_file
from scanner.verify.client import target_url as _target_url
from scanner.verify.options import (
    ALLOW_NONLOOPBACK_ENV,
    OVERRIDE_ENV,
    VerifyOptions,
    _is_loopback,
    options_from,
    parse_hosts,
    parse_overrides,
)
from scanner.verify.verifier import Verifier, _Job

NOW = datetime(2026, 9, 30, 12, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- suppress: ignore entries and expiry


def test_ignore_entry_is_active_through_its_expiry_day() -> None:
    e = IgnoreEntry(fingerprint="f", reason="r", expires=date(2027, 3, 31))
    assert e.active(date(2027, 3, 30)) is True
    assert e.active(date(2027, 3, 31)) is True  # the last day still suppresses
    assert e.active(date(2027, 4, 1)) is False
    assert IgnoreEntry(fingerprint="f", reason="r").active(date(9999, 12, 31)) is True


def _ignore(tmp_path, text: str):
    p = tmp_path / ".credsweep-ignore.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_ignore_file_entries_are_read_and_stripped(tmp_path) -> None:
    p = _ignore(tmp_path, '[[ignore]]\nfingerprint = "  abc  "\nreason = "  fixture  "\nexpires = 2027-03-31\n'
                          '[[ignore]]\nfingerprint = "def"\nreason = "docs"\n')
    assert load_ignore_file(p) == (
        IgnoreEntry(fingerprint="abc", reason="fixture", expires=date(2027, 3, 31)),
        IgnoreEntry(fingerprint="def", reason="docs", expires=None),
    )


def test_missing_ignore_file_is_empty(tmp_path) -> None:
    assert load_ignore_file(tmp_path / "nope.toml") == ()
    assert load_ignore_file(_ignore(tmp_path, "# nothing\n")) == ()


@pytest.mark.parametrize(("text", "message"), [
    ("[[ignore]\n", "cannot read ignore file"),
    ('[[ignore]]\nreason = "r"\n', "ignore[0] needs a 'fingerprint' string"),
    ('[[ignore]]\nfingerprint = 1\nreason = "r"\n', "ignore[0] needs a 'fingerprint' string"),
    ('ignore = ["x"]\n', "ignore[0] needs a 'fingerprint' string"),
    ('[[ignore]]\nfingerprint = "f"\n', "ignore[0] needs a 'reason'"),
    ('[[ignore]]\nfingerprint = "f"\nreason = "   "\n', "ignore[0] needs a 'reason'"),
    ('[[ignore]]\nfingerprint = "f"\nreason = 3\n', "ignore[0] needs a 'reason'"),
    ('[[ignore]]\nfingerprint = "f"\nreason = "r"\nexpires = "2027-03-31"\n',
     "ignore[0].expires must be a TOML date such as 2027-03-31"),
    ('[[ignore]]\nfingerprint = "f"\nreason = "r"\n[[ignore]]\nfingerprint = "g"\n', "ignore[1] needs a 'reason'"),
])
def test_bad_ignore_file_is_a_config_error_naming_the_entry(tmp_path, text: str, message: str) -> None:
    p = _ignore(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_ignore_file(p)
    assert str(exc.value).startswith(f"{p}: {message}")
    assert exc.value.__cause__ is None


def test_ignore_entry_toml_round_trips(tmp_path) -> None:
    text = ignore_entry_toml("ab\"c", "why \\ not", date(2027, 1, 2))
    assert text == '[[ignore]]\nfingerprint = "ab\\"c"\nreason = "why \\\\ not"\nexpires = 2027-01-02\n'
    assert ignore_entry_toml("f", "r") == '[[ignore]]\nfingerprint = "f"\nreason = "r"\n'
    assert load_ignore_file(_ignore(tmp_path, text)) == (
        IgnoreEntry(fingerprint='ab"c', reason="why \\ not", expires=date(2027, 1, 2)),)


def test_baseline_fingerprints(tmp_path) -> None:
    p = tmp_path / "base.json"
    p.write_text('{"findings": [{"fingerprint": "a"}, {"fingerprint": "b"}]}', encoding="utf-8")
    assert load_baseline(p) == frozenset({"a", "b"})
    p.write_text('{"findings": [{"fingerprint": "a"}, {"rule": "r"}]}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"findings\[1\] has no 'fingerprint' string"):
        load_baseline(p)


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read baseline (a credsweep JSON result)"),
    (b"{not json", "cannot read baseline (a credsweep JSON result)"),
    (b"\xff\xfe\x00", "cannot read baseline (a credsweep JSON result)"),
    (b"[]", "not a credsweep JSON result (no 'findings' list)"),
    (b'{"findings": {}}', "not a credsweep JSON result (no 'findings' list)"),
    (b'{"results": []}', "not a credsweep JSON result (no 'findings' list)"),
])
def test_bad_baseline_is_a_config_error(tmp_path, content: bytes | None, message: str) -> None:
    p = tmp_path / "base.json"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_baseline(p)
    assert str(exc.value).startswith(f"{p}: {message}")
    assert exc.value.__cause__ is None


# --------------------------------------------------------------------------- exit codes and --fail-on


def _finding(severity: Severity, status: str = "new") -> Finding:
    return Finding(fingerprint=f"fp-{severity}-{status}", rule_id=RuleId("r"), rule_name="R", provider="p",
                   category="ai-inference", kind="api-key", severity=severity, confidence=Confidence.HIGH,
                   secret_hash="h", redacted="x", locations=(Location(source="file", path="a"),), status=status)


def _report(findings=(), violations=()) -> Report:
    return Report(tool_version="t", started_at=NOW, scan_kind="files", targets=("."), findings=tuple(findings),
                  violations=tuple(violations))


def _violation(severity: Severity) -> Violation:
    return Violation(check_id="STALE", subject="s", severity=severity, message="m")  # type: ignore[arg-type]


@pytest.mark.parametrize("fail_on", list(Severity))
@pytest.mark.parametrize("severity", list(Severity))
def test_exit_code_fails_at_or_above_fail_on(fail_on: Severity, severity: Severity) -> None:
    expected = 1 if severity >= fail_on else 0
    assert exit_code(_report([_finding(severity)]), fail_on) == expected
    assert exit_code(_report(violations=[_violation(severity)]), fail_on) == expected


@pytest.mark.parametrize("status", ["allowed", "baselined", "ignored"])
def test_only_new_findings_fail(status: str) -> None:
    assert exit_code(_report([_finding(Severity.CRITICAL, status)]), Severity.INFO) == 0
    mixed = [_finding(Severity.CRITICAL, status), _finding(Severity.LOW)]
    assert exit_code(_report(mixed), Severity.LOW) == 1
    assert exit_code(_report(mixed), Severity.MEDIUM) == 0


def test_exit_code_clean_and_nothing_scanned() -> None:
    assert exit_code(_report(), Severity.INFO) == 0
    assert exit_code(_report(), Severity.LOW, nothing_scanned=True) == 4
    assert exit_code(_report([_finding(Severity.CRITICAL)]), Severity.LOW, nothing_scanned=True) == 4
    assert exit_code(_report([_finding(Severity.CRITICAL)]), Severity.LOW, nothing_scanned=False) == 1


# --------------------------------------------------------------------------- keyed hashing


def test_hasher_is_keyed_hmac_sha256() -> None:
    h = SecretHasher(b"org-key")
    assert h.secret_hash("v\u00e9") == hmac.new(b"org-key", "v\u00e9".encode(), hashlib.sha256).hexdigest()
    assert h.fingerprint("rule.a", "v") == hmac.new(b"org-key", b"rule.a\0v", hashlib.sha256).hexdigest()[:32]
    assert h.fingerprint("rule.a", "v") != h.fingerprint("rule.b", "v")
    assert h.secret_hash("\udc80") == hmac.new(b"org-key", "\udc80".encode("utf-8", "surrogatepass"),
                                                hashlib.sha256).hexdigest()
    assert h.key_id == hashlib.sha256(b"credsweep-key-id:org-key").hexdigest()[:12]
    assert "org-key" not in repr(h)


def test_hasher_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # the environment is an input here (not credsweep's code): set it as a user would
    monkeypatch.delenv("CREDSWEEP_HASH_KEY", raising=False)
    default = SecretHasher.from_env()
    assert default.key_id == "default" and default.key == b"credsweep-default-hash-key-v1"
    monkeypatch.setenv("CREDSWEEP_HASH_KEY", "k\u00e9y")
    assert SecretHasher.from_env().key == "k\u00e9y".encode()
    monkeypatch.setenv("MY_KEY", "other")
    assert SecretHasher.from_env("MY_KEY").key == b"other"
    monkeypatch.setenv("CREDSWEEP_HASH_KEY", "")
    assert SecretHasher.from_env().key_id == "default"


# --------------------------------------------------------------------------- verification host allow-list


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LocalHost", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), ("10.0.0.1", False), ("localhost.evil.com", False), ("api.openai.com", False), ("", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def test_override_maps_official_hosts_to_loopback_only() -> None:
    assert parse_overrides("") == {} and parse_overrides("   ") == {}
    assert parse_overrides(" API.OpenAI.com = https://127.0.0.1:8443 ,, api.x.ai=https://localhost:9/ ") == {
        "api.openai.com": "https://127.0.0.1:8443", "api.x.ai": "https://localhost:9"}
    assert parse_overrides('{"api.openai.com": "https://[::1]:1"}') == {"api.openai.com": "https://[::1]:1"}
    assert parse_overrides("a.com=https://evil.com:1", allow_nonloopback=True) == {"a.com": "https://evil.com:1"}


@pytest.mark.parametrize(("text", "message"), [
    ("api.openai.com", "expected HOST=https://127.0.0.1:PORT pairs separated by commas"),
    ("{bad json", "expected HOST=https://127.0.0.1:PORT pairs separated by commas"),
    ("api.openai.com=http://127.0.0.1:1", "api.openai.com: the replacement must be https://HOST[:PORT]"),
    ("api.openai.com=https://127.0.0.1:1/v1", "api.openai.com: the replacement must be https://HOST[:PORT]"),
    ("api.openai.com=https://", "api.openai.com: the replacement must be https://HOST[:PORT]"),
    ("api.openai.com=https://evil.example.com", "refusing to send keys for api.openai.com to evil.example.com: "),
    ("api.openai.com=https://10.0.0.1:443", "refusing to send keys"),
])
def test_override_refuses_anything_but_https_loopback(text: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_overrides(text)
    assert str(exc.value).startswith(f"{OVERRIDE_ENV}: ") and message in str(exc.value)
    assert exc.value.__cause__ is None


def test_verify_hosts_are_parsed_and_normalised() -> None:
    assert parse_hosts([]) == {}
    assert parse_hosts([" Databricks = https://ADB-1.azuredatabricks.net/ ", "vault=vault.example.com:8200",
                        "v6=[::1]:8200"]) == {
        "databricks": "adb-1.azuredatabricks.net", "vault": "vault.example.com:8200", "v6": "[::1]:8200"}


@pytest.mark.parametrize("entry", ["databricks", "=host.com", " =host.com", "k=", "k=host.com/path", "k=http://h.com",
                                   "k=h.com:123456", "k=user@h.com", "k=h.com?x"])
def test_bad_verify_host_is_a_usage_error(entry: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_hosts([entry])
    assert str(exc.value).startswith(f"--verify-host {entry!r}: expected KEY=HOST[:PORT]")


def test_verify_options_from_flags_and_environment() -> None:
    env = {OVERRIDE_ENV: "api.openai.com=https://127.0.0.1:9"}
    o = options_from(True, None, ["vault=v.example.com"], False, env)
    assert o == VerifyOptions(enabled=True, timeout=30.0, hosts={"vault": "v.example.com"},
                              overrides={"api.openai.com": "https://127.0.0.1:9"}, only_live=False)
    assert options_from(True, 2.5, [], True, {}).timeout == 2.5
    assert options_from(True, 2.5, [], True, {}).only_live is True
    # without --verify the override is not even read (no network call can follow)
    assert options_from(False, None, [], False, {OVERRIDE_ENV: "junk"}).overrides == {}
    far = {OVERRIDE_ENV: "a.com=https://evil.com:1"}
    with pytest.raises(UsageError):
        options_from(True, None, [], False, far)
    with pytest.raises(UsageError):
        options_from(True, None, [], False, {**far, ALLOW_NONLOOPBACK_ENV: "yes"})
    assert options_from(True, None, [], False, {**far, ALLOW_NONLOOPBACK_ENV: "1"}).overrides == {
        "a.com": "https://evil.com:1"}


@pytest.mark.parametrize(("args", "message"), [
    ((False, None, [], True), "--only-live needs --verify"),
    ((True, 0.0, [], False), "--verify-timeout must be above 0 seconds"),
    ((True, -1.0, [], False), "--verify-timeout must be above 0 seconds"),
])
def test_verify_options_refuse_contradictions(args, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        options_from(*args, {})


def test_target_url_uses_only_the_rule_host_the_user_host_or_a_loopback_override() -> None:
    official = VerifySpec(url="https://api.openai.com/v1/models?x=1")
    assert _target_url(official, VerifyOptions()) == "https://api.openai.com/v1/models?x=1"
    over = VerifyOptions(overrides={"api.openai.com": "https://127.0.0.1:8443"})
    assert _target_url(official, over) == "https://127.0.0.1:8443/v1/models?x=1"
    ported = VerifySpec(url="https://api.example.com:8443/v1")
    assert _target_url(ported, VerifyOptions(overrides={"api.example.com:8443": "https://127.0.0.1:1"})) == \
        "https://127.0.0.1:1/v1"
    user = VerifySpec(url="https://{host}/api/2.0/token/list", host="databricks")
    assert _target_url(user, VerifyOptions()) is None
    assert _target_url(user, VerifyOptions(hosts={"other": "x.com"})) is None
    assert _target_url(user, VerifyOptions(hosts={"databricks": "adb-1.azuredatabricks.net"})) == \
        "https://adb-1.azuredatabricks.net/api/2.0/token/list"
    both = VerifyOptions(hosts={"databricks": "Adb-1.azuredatabricks.net:8443"},
                         overrides={"adb-1.azuredatabricks.net": "https://127.0.0.1:2"})
    assert _target_url(user, both) == "https://127.0.0.1:2/api/2.0/token/list"


def test_target_url_edge_cases() -> None:
    # only the host position is replaced (a {host} anywhere else is refused by verifyspec; pinned here anyway)
    twice = VerifySpec(url="https://{host}/{host}", host="vault")
    assert _target_url(twice, VerifyOptions(hosts={"vault": "v.example.com"})) == "https://v.example.com/{host}"
    # a URL without a host is never rewritten, whatever the override maps
    hostless = VerifySpec(url="https:///v1")
    assert _target_url(hostless, VerifyOptions(overrides={"xxxx": "https://127.0.0.1:1"})) \
        == "https:///v1"


def test_loopback_check_is_exact() -> None:
    assert _is_loopback("X127.0.0.1") is False and _is_loopback("127.0.0.1X") is False
    assert _is_loopback("[127.0.0.1]") is True


def test_override_and_host_parsing_split_on_the_first_equals_sign() -> None:
    # HOST=BASE: the base's own query (after '=') is dropped with the rest of its path
    assert parse_overrides("a.com=https://127.0.0.1:1?x=y") == {"a.com": "https://127.0.0.1:1"}
    with pytest.raises(UsageError):
        parse_hosts(["k=a=b.com"])


def test_verify_option_errors_are_exact() -> None:
    with pytest.raises(UsageError) as exc:
        options_from(False, None, [], True, {})
    assert str(exc.value) == "--only-live needs --verify (without it, no key is checked)"
    with pytest.raises(UsageError) as exc:
        options_from(True, 0, [], False, {})
    assert str(exc.value) == "--verify-timeout must be above 0 seconds"
    assert options_from(True, 0.5, [], False, {}).timeout == 0.5


# --------------------------------------------------------------------------- what a verification job may send where


def _verifier(**kw: object) -> Verifier:
    return Verifier(VerifyOptions(enabled=True, **kw))  # type: ignore[arg-type]


HTTP_SPEC = VerifySpec(url="https://api.openai.com/v1/models", headers=(("Authorization", "Bearer {secret}"),))
HOST_SPEC = VerifySpec(url="https://{host}/api/2.0/token/list", headers=(("Authorization", "Bearer {secret}"),),
                       host="databricks", host_patterns=("*.cloud.databricks.com", "*.azuredatabricks.net"))
STS_SPEC = VerifySpec(type="aws-sts", method="POST", url="https://sts.amazonaws.com/", read_only=True)


def test_job_for_an_official_host() -> None:
    job = _verifier()._job(HTTP_SPEC, "sk-test", None)
    assert isinstance(job, _Job)
    assert (job.spec, job.host, job.secret) == (HTTP_SPEC, "api.openai.com", "sk-test")
    assert job.request.url == "https://api.openai.com/v1/models" and job.request.method == "GET"
    assert ("Authorization", "Bearer sk-test") in job.request.headers
    # the test override changes where the request goes, not the host the report names
    job = _verifier(overrides={"api.openai.com": "https://127.0.0.1:9"})._job(HTTP_SPEC, "sk-test", None)
    assert isinstance(job, _Job)
    assert job.host == "api.openai.com" and job.request.url == "https://127.0.0.1:9/v1/models"


def test_job_for_a_user_host_checks_the_allowed_patterns() -> None:
    assert _verifier()._job(HOST_SPEC, "dapi1", None) == (
        "unverifiable without a host: pass --verify-host databricks=HOST (never taken from scanned content)")
    ok = _verifier(hosts={"databricks": "adb-1.azuredatabricks.net:443"})._job(HOST_SPEC, "dapi1", None)
    assert isinstance(ok, _Job)
    assert ok.host == "adb-1.azuredatabricks.net:443"
    assert ok.request.url == "https://adb-1.azuredatabricks.net:443/api/2.0/token/list"
    assert _verifier(hosts={"databricks": "evil.com"})._job(HOST_SPEC, "dapi1", None) == (
        "--verify-host databricks=evil.com is not one of *.cloud.databricks.com, *.azuredatabricks.net")
    # the pattern is matched on the host name alone, case-sensitively, without the port
    assert isinstance(_verifier(hosts={"databricks": "x.cloud.databricks.com:8443"})._job(HOST_SPEC, "d", None), _Job)
    assert isinstance(_verifier(hosts={"databricks": "azuredatabricks.net.evil.com"})._job(HOST_SPEC, "d", None), str)
    no_patterns = replace(HOST_SPEC, host_patterns=())
    assert isinstance(_verifier(hosts={"databricks": "anything.example.org"})._job(no_patterns, "d", None), _Job)


def test_job_for_aws_sts_needs_a_long_term_key_and_its_secret() -> None:
    v = _verifier()
    assert v._job(STS_SPEC, "ASIAXXXXXXXXXXXXXXXX", "s") == (
        "not checked: only long-term AKIA key ids are verified (temporary ASIA keys need their session token)")
    assert v._job(STS_SPEC, "AKIAXXXXXXXXXXXXXXXX", None) == "unverifiable: no secret access key found near the key id"
    job = v._job(STS_SPEC, "AKIAXXXXXXXXXXXXXXXX", "secret/key")
    assert isinstance(job, _Job)
    assert job.host == "sts.amazonaws.com" and job.request.method == "POST"
    assert job.request.url == "https://sts.amazonaws.com/" and job.request.body
    assert any(k == "Authorization" and "AKIAXXXXXXXXXXXXXXXX" in val for k, val in job.request.headers)


def test_job_for_a_rule_without_a_check() -> None:
    assert _verifier()._job(VerifySpec(type="none", note="no read-only API"), "k", None) == (
        "no read-only check exists: no read-only API")


# --------------------------------------------------------------------------- verifyspec: where a rule may send a key


def _url_problems(url: object, host_key: object = None) -> list[str]:
    problems: list[str] = []
    _check_url(url, host_key, problems)
    return problems


@pytest.mark.parametrize(("url", "host_key", "expected"), [
    ("https://api.openai.com/v1/models", None, []),
    ("https://api.openai.com:8443/v1?x=1", None, []),
    ("https://{host}/api", "databricks", []),
    ("https://{host}/api", "db-2", []),
    (None, None, ["verify.url is required"]),
    ("", None, ["verify.url is required"]),
    (3, None, ["verify.url is required"]),
    ("https://api.openai.com/v1?key={secret}", None,
     ["verify.url must not contain {secret}: send the key in a header, never in the URL",
      "verify.url may hold no placeholder except {host} as the whole host"]),
    ("http://api.openai.com/v1", None, ["verify.url must use https://"]),
    ("HTTPS://api.openai.com/v1", None, []),
    ("https://user:pw@api.openai.com/", None, ["verify.url must not carry user information"]),
    ("https://user@api.openai.com/", None, ["verify.url must not carry user information"]),
    ("https://api.openai.com/{x}", None, ["verify.url may hold no placeholder except {host} as the whole host"]),
    ("https://{host}/{host}", "vault", ["verify.url may hold no placeholder except {host} as the whole host"]),
    ("https://{host}/a?{host}", "vault", ["verify.url may hold no placeholder except {host} as the whole host"]),
    ("https://{host}/a#{host}", "vault", ["verify.url may hold no placeholder except {host} as the whole host"]),
    ("https://{host}/api", None, ["verify.url uses {host}: set 'host: NAME' (the user passes --verify-host NAME=HOST); "
                                  "a host taken from scanned content is never used"]),
    ("https://{host}/api", "Bad_Key", ["verify.url uses {host}: set 'host: NAME' (the user passes --verify-host "
                                       "NAME=HOST); a host taken from scanned content is never used"]),
    ("https://{host}/api", "-lead", ["verify.url uses {host}: set 'host: NAME' (the user passes --verify-host "
                                     "NAME=HOST); a host taken from scanned content is never used"]),
    ("https://{host}.example.com/api", "vault", ["verify.url: {host} must be the whole host"]),
    ("https://api.openai.com/v1", "vault", ["verify.host is only meaningful with {host} in the URL"]),
    ("https://93.184.216.34/v1", None, ["verify.url must name the provider's official host, not an IP address"]),
    ("https://[2606:2800::1]/v1", None, ["verify.url must name the provider's official host, not an IP address"]),
    ("https://localhost/v1", None, ["verify.url host 'localhost' is not a public DNS name"]),
    ("https://API.OpenAI.com/v1", None, []),
    ("https://a_b.example.org/v1", None, ["verify.url host 'a_b.example.org' is not a public DNS name"]),
    ("https://api.openai.c/v1", None, ["verify.url host 'api.openai.c' is not a public DNS name"]),
    ("https://-api.openai.com/v1", None, ["verify.url host '-api.openai.com' is not a public DNS name"]),
    ("https://api-.openai.com/v1", None, ["verify.url host 'api-.openai.com' is not a public DNS name"]),
    ("https://" + "a" * 64 + ".com/v1", None, [f"verify.url host '{'a' * 64}.com' is not a public DNS name"]),
    ("https://" + "a" * 63 + ".com/v1", None, []),
    ("https://" + ("a" * 60 + ".") * 5 + "com/", None,
     [f"verify.url host '{('a' * 60 + '.') * 5}com' is not a public DNS name"]),
    ("https://" + ("a" * 60 + ".") * 4 + "com/", None, []),
    ("https://printer.local/v1", None, ["verify.url host 'printer.local' is not a public DNS name"]),
    ("https://x.localhost/v1", None, ["verify.url host 'x.localhost' is not a public DNS name"]),
    ("https://api.test/v1", None, ["verify.url host 'api.test' is not a public DNS name"]),
    ("https://api.example/v1", None, ["verify.url host 'api.example' is not a public DNS name"]),
    ("https://db.internal/v1", None, ["verify.url host 'db.internal' is not a public DNS name"]),
    ("https:///v1", None, ["verify.url host '' is not a public DNS name"]),
])
def test_verify_url_must_be_https_to_a_fixed_public_host(url: object, host_key: object, expected: list[str]) -> None:
    assert _url_problems(url, host_key) == expected


# --------------------------------------------------------------------------- filters: placeholders, examples, entropy


def test_shannon_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("ab") == pytest.approx(1.0)
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy("aaab") == pytest.approx(0.8112781244591328)


@pytest.mark.parametrize(("value", "example"), [
    ("AKIAIOSFODNN7EXAMPLE", True), ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", True),
    ("AKIAZZZZZZZZZZEXAMPLE", True), ("Zq9wXk2mEXAMPLEKEY", True), ("Zq9wXk2mexample", False),
    ("Zq9wXk2mexamplekey", False), ("Zq9wXk2mEXAMPLEKEYS", False), ("AKIAIOSFODNN7EXAMPL", False), ("", False),
])
def test_known_examples(value: str, example: bool) -> None:
    assert is_known_example(value) is example


@pytest.mark.parametrize("word", _PLACEHOLDER_WORDS)
def test_every_placeholder_word_marks_a_placeholder(word: str) -> None:
    assert is_placeholder(f"Zq9w{word.upper()}Xk2m") is True
    assert is_placeholder(f"Zq9w{word}Xk2m") is True


@pytest.mark.parametrize(("value", "placeholder"), [
    ("$OPENAI_API_KEY", True), ("%OPENAI_API_KEY%", True), ("env(OPENAI)", True), ("$1abc", False),
    ("Zq9_aaaaa", False), ("Zq9_aaaaaa", True), ("Zq9-ababab", True), ("Zq9-abcabc", False), ("Zq9-AbAbAb", True),
    ("aaaaaa_Zq9wXk2m", False), ("aaaaaa-Zq9wXk2m", False), ("Zq9w-Xk2m_aaaaaaa", True), ("Zq9w_Xk2m-aaaaaaa", True),
    ("Zq9w Xk2m-aaaaaaa", True), ("abcabcZq9-Xk2mPq", False),
])
def test_placeholder_body_and_environment_lookups(value: str, placeholder: bool) -> None:
    assert is_placeholder(value) is placeholder


@pytest.mark.parametrize(("body", "sequential"), [
    ("abcdefg", False), ("abcdefgh", True), ("ABCDEFGH", True), ("Q1abcdefghQ", True), ("Q1stuvwxyzQ", True),
    ("Q1tuvwxyzQ", False), ("wxyzabcd", True), ("cdef0123", True), ("78901234", True), ("qwertyui", True),
    ("98765432", True), ("zyxwvuts", True), ("Q1zyxwvutQ", False), ("89abcdef", True), ("Zq9wXk2mPq", False),
    ("hgfedcba", True), ("hijklmnopqrstuvwxyzabcdefg", True),
])
def test_sequential_runs(body: str, sequential: bool) -> None:
    assert _is_sequential(body) is sequential


@pytest.mark.parametrize("name", _LOCK_FILES)
def test_lock_files(name: str) -> None:
    assert is_lock_file(f"a/b/{name}") and is_lock_file(name.upper()) and is_lock_file(name)
    assert not is_lock_file(f"{name}/config.py") and not is_lock_file(f"x{name}")


def test_generic_name_noise_reason() -> None:
    assert generic_name_noise("page_token = '") == "not-a-credential-name"
    assert generic_name_noise("api_key = '") is None


# --------------------------------------------------------------------------- correlation: places and sentences


def _commit_info(sha: str, day: int) -> CommitInfo:
    when = datetime(2026, 9, day, tzinfo=UTC)
    return CommitInfo(sha=sha, author="dev@example.com", author_date=when, committer_date=when)


def _git(at_head: bool, removed: bool = False) -> GitProvenance:
    c = _commit_info("a" * 40, 1)
    return GitProvenance(repo="/src/chat-service/", introduced=c, last_seen=c,
                         removed_by=_commit_info("b" * 40, 2) if removed else None, at_head=at_head, refs=("main",),
                         paths=("app.py",))


def _cred(**kw: object) -> Credential:
    base = {"id": "secret/data/app#OPENAI", "source": "vault", "store": "vault-kv", "location": "secret/app#OPENAI"}
    return Credential(**{**base, **kw})  # type: ignore[arg-type]


def test_finding_places_name_repo_line_key_path_and_state() -> None:
    locs = (Location(source="file", path="app.py", line=3, root="/work/chat-service"),
            Location(source="file", path="cfg.yaml", key_path="db.key", decoded="base64", root="/work/chat-service"))
    f = replace(_finding(Severity.HIGH), locations=locs)
    places = _finding_places(f)
    assert [p.where for p in places] == ["chat-service/app.py:3", "chat-service/cfg.yaml [db.key] (decoded base64)"]
    assert {(p.source, p.ref, p.state, p.commit) for p in places} == {("file", f.fingerprint, "working tree", None)}
    staged = replace(f, locations=(Location(source="staged", path="a.py", line=1),))
    assert [(p.where, p.state) for p in _finding_places(staged)] == [("a.py:1", "staged")]
    other = replace(f, locations=(Location(source="vault", path="secret/x", root="."),))
    assert [(p.where, p.state) for p in _finding_places(other)] == [("secret/x", "vault")]
    git = replace(f, git=_git(True), locations=(Location(source="git", path="app.py", line=2, commit="c1"),))
    assert [(p.where, p.state, p.commit) for p in _finding_places(git)] == [("chat-service/app.py:2", "at HEAD", "c1")]
    hist = replace(git, git=_git(False, removed=True))
    assert [p.state for p in _finding_places(hist)] == ["history only"]
    assert _repo(git) == "chat-service" and _repo(f) == "chat-service" and _repo(staged) == ""
    assert _repo(replace(f, locations=(Location(source="file", path="a", root="/"),))) == ""
    dots = replace(f, locations=(Location(source="file", path="a.py", root=".."),))
    assert [p.where for p in _finding_places(dots)] == ["a.py"]


def test_cred_place_and_stored_phrase() -> None:
    arn = _cred(id="arn:aws:secretsmanager:eu-west-1:1:secret:app#OPENAI", source="aws", store="aws-secretsmanager",
                location="eu-west-1 app", version=None, status="active")
    p = _cred_place(arn)
    assert (p.source, p.where, p.ref, p.store, p.state) == (
        "aws", "arn:aws:secretsmanager:eu-west-1:1:secret:app", arn.id, "aws-secretsmanager", "active")
    v = _cred(version=3)
    p = _cred_place(v)
    assert (p.where, p.version, p.state) == ("secret/app#OPENAI", 3, "")
    assert _stored_phrase(v, NOW) == "version 3 of secret/app in Vault"
    assert _stored_phrase(_cred(), NOW) == "stored at secret/app in Vault"
    rotated = _cred(created_at=datetime(2026, 1, 1, tzinfo=UTC), last_rotated_at=datetime(2026, 9, 20, 12, tzinfo=UTC))
    assert _stored_phrase(rotated, NOW) == "stored at secret/app in Vault, last rotated 10 days ago"
    created = _cred(created_at=datetime(2026, 9, 29, 13, tzinfo=UTC))
    assert _stored_phrase(created, NOW) == "stored at secret/app in Vault, never rotated since it was stored 0 days ago"
    assert _stored_phrase(arn, NOW) == "stored in AWS Secrets Manager as arn:aws:secretsmanager:eu-west-1:1:secret:app"
    odd = _cred(source="aws", store="aws-odd", id="x#y")
    assert _stored_phrase(odd, NOW) == "stored in aws-odd as x"
    future = _cred(created_at=datetime(2027, 1, 1, tzinfo=UTC))
    assert _stored_phrase(future, NOW).endswith("stored 0 days ago")


def test_active_and_in_store() -> None:
    assert _active(_cred(status=None)) and _active(_cred(status="active"))
    assert not _active(_cred(status="deleted")) and not _active(_cred(status="inactive"))
    assert _in_store(_cred(), ["vault"]) and _in_store(_cred(), ["vault-kv"])
    assert not _in_store(_cred(), ["aws-secretsmanager"]) and not _in_store(_cred(status="deleted"), ["vault"])
    assert not _in_store(_cred(source="file"), ["vault"])
    assert _in_store(_cred(source="aws", store="aws-secretsmanager"), ["aws-secretsmanager"])


def test_leak_phrase_and_summary() -> None:
    f = replace(_finding(Severity.HIGH), locations=(Location(source="file", path="app.py", line=3),))
    assert _leak_phrase(f) == "found in app.py:3"
    g = replace(f, git=_git(True))
    assert _leak_phrase(g) == "leaked in commit aaaaaaaaaa (chat-service/app.py:3)"
    h = replace(f, git=_git(False, removed=True))
    assert _leak_phrase(h) == ("leaked in commit aaaaaaaaaa (chat-service/app.py:3, removed by bbbbbbbbbb, "
                               "still in history)")
    h2 = replace(f, git=replace(_git(False), removed_by=None))
    assert _leak_phrase(h2) == "leaked in commit aaaaaaaaaa (chat-service/app.py:3, still in history)"
    assert summary("OpenAI key", [f], [], NOW, True) == "the OpenAI key found in app.py:3 is in no scanned secret store."
    assert summary("OpenAI key", [f], [], NOW, False) == "the OpenAI key found in app.py:3."
    assert summary("OpenAI key", [f, g], [], NOW, False) == "the OpenAI key found in app.py:3 (and 1 more finding(s))."
    assert summary("OpenAI key", [], [], NOW, True) == "the OpenAI key."
    two = [_cred(version=1), _cred(version=2)]
    assert summary("OpenAI key", [], two, NOW, True) == (
        "the OpenAI key is version 1 of secret/app in Vault; version 2 of secret/app in Vault.")
    three = [*two, _cred(version=3)]
    assert summary("OpenAI key", [f], three, NOW, True) == (
        "the OpenAI key found in app.py:3 is version 1 of secret/app in Vault; version 2 of secret/app in Vault; "
        "and 1 more stored copies.")
    assert _label("openai", "api-key", "OpenAI API key") == "OpenAI API key"
    assert _label("openai", "api-key", None) == "openai api-key"
    assert _label("", "", None) == "credential"
    assert _label("", "token", "") == "token"
    assert _days(NOW, None) is None and _days(NOW, datetime(2026, 9, 28, 13, tzinfo=UTC)) == 1


@pytest.mark.parametrize(("value", "path", "reason"), [
    ("data:Zq9wXk2m", "src/a.py", "data-uri"), ("DATA:Zq9wXk2mPq", "src/a.py", None),
    ("ghijklmnopqrstuv", "src/a.py", "sequential"), ("id-9f0e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c", "src/a.py", "uuid"),
    ("${Zq9wXk2mPq}", "src/a.py", "template"), ("$Zq9wXk2mPq", "src/a.py", "template"),
    ("31415926535897", "src/a.py", "not-alphanumeric"), ("zqwmxkvbnrtp", "src/a.py", "low-variety"),
    ("Zq9w(Xk2m)", "src/a.py", "code"), ("Zq9w(Xk2mPq", "src/a.py", None), ("Zq9w!Xk2m~Pq", "src/a.py", None),
    ("eyJhbGciOiJIUzI1NiJ9", "src/a.py", "encoded-json"), ("eyJhbGciOiJIUzI1NiJ9.Zq", "src/a.py", None),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c", "src/hashes.txt", "hash"),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c", "src/HASHES.txt", "hash"),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c", "src/a.py", None),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c9f0e8d7c", "hash.txt", "hash"),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c" * 2, "hash.txt", "hash"),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c" * 4, "hash.txt", "hash"),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c" + "e", "hash.txt", None),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c9f0e8d7ce", "hash.txt", None),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c" * 2 + "e", "hash.txt", None),
    ("9f0e8d7c6b5a4f3e9d2c1b0a9f8e7d6c" * 4 + "e", "hash.txt", None),
    ("Zq9wXk2mPqR7sT4vW6yZ8aB1cD3eF5gH", "hash.txt", None),
])
def test_generic_noise_reasons(value: str, path: str, reason: str | None) -> None:
    assert generic_noise(value, path) == reason


def test_lock_file_is_decided_on_the_last_path_part() -> None:
    assert is_lock_file("a/b/c/poetry.lock") and not is_lock_file("poetry.lock/b/c")


def test_sts_job_signs_with_the_companion_secret() -> None:
    v = _verifier()
    a = v._job(STS_SPEC, "AKIAXXXXXXXXXXXXXXXX", "secret/one")
    b = v._job(STS_SPEC, "AKIAXXXXXXXXXXXXXXXX", "secret/two")
    assert isinstance(a, _Job) and isinstance(b, _Job)
    assert (a.spec, a.secret) == (STS_SPEC, "AKIAXXXXXXXXXXXXXXXX")
    auth = [dict(j.request.headers)["Authorization"] for j in (a, b)]
    assert auth[0] != auth[1]

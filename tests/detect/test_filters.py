"""False-positive filters, table-driven: each row is a value real code contains and why it is not a credential."""

from __future__ import annotations

import random
import string

import pytest

from scanner.detect.filters import generic_name_noise, generic_noise, is_placeholder, looks_like_identifier

NOISE = [
    ("SAML_ASSERTION_TYPE", "src/a.py", "identifier"),
    ("OAuth2ClientCredentialsAuthMethod", "src/a.py", "identifier"),
    ("token-efficient-tools-2025-02-19", "config.json", "identifier"),
    ("2016-05-06T17:40:46Z", "src/a.json", "timestamp"),
    ("),fe.get(t(", "bundle.js", "code"),
    ("sk-9876543210abcdef", "src/masker.py", "placeholder-runs"),
    ("sk-abc123def456", "src/policy.json", "placeholder-runs"),
    ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "src/token.py", "encoded-json"),
    ("Xk9mPqR2sT4vW6yZ8aB1", "tests/test_client.py", "test-or-example-path"),
    ("Xk9mPqR2sT4vW6yZ8aB1", "botocore/data/s3/2006-03-01/examples-1.json", "test-or-example-path"),
    ("123e4567-e89b-42d3-a456-426614174000", "src/a.py", "uuid"),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "yarn.lock", "lock-file"),
]


@pytest.mark.parametrize(("value", "path", "reason"), NOISE, ids=[r[0][:24] for r in NOISE])
def test_generic_noise(value, path, reason):
    assert generic_noise(value, path) == reason


@pytest.mark.parametrize("value", ["Xk9mPqR2sT4vW6yZ8aB1cD3e", "q7w2e9r4t1y8u3i6o5p0a7sd", "hf_94wBhPGp6KrrTH3KDchhKpRxZwd6dmHWLL"])
def test_random_values_are_kept(value):
    assert generic_noise(value, "src/settings.py") is None
    assert not looks_like_identifier(value)


@pytest.mark.parametrize(("lead", "noise"), [
    ("page_token': '", True), ("next_token = \"", True), ("lib/_auth_token_provider.py\": \"", True),
    ("api_key = \"", False), ("OPENAI_API_KEY=", False), ("auth_token: ", False),
])
def test_generic_name_noise(lead, noise):
    assert (generic_name_noise(lead) is not None) is noise


@pytest.mark.parametrize(("value", "placeholder"), [
    ("AIzaabcdefghijklmnopqrstuvwxyz012345678", True), ("your-api-key-here", True), ("${OPENAI_API_KEY}", True),
    ("xxxxxxxxxxxxxxxx", True), ("sk-proj-Xk9mPqR2sT4vW6yZ8aB1cD3e", False),
])
def test_placeholders(value, placeholder):
    assert is_placeholder(value) is placeholder


def test_identifier_heuristic_rarely_hides_random_secrets():
    rng = random.Random(0)
    alphabet = string.ascii_letters + string.digits + "_-"
    flagged = sum(looks_like_identifier("".join(rng.choice(alphabet) for _ in range(rng.randrange(16, 48))))
                  for _ in range(20000))
    assert flagged / 20000 < 0.002

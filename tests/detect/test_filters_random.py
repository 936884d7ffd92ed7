"""Random-input tests for the false-positive filters with real-shaped values.

An exact-format key (a PEM block, a fixed-prefix token, a checksummed token) is never dropped as a placeholder,
whatever its random body happens to hold ("your", "todo", "xxxx" occur in about 1 in 300 RSA-2048 PEM bodies);
true placeholders are still dropped. The low-variety threshold is pinned on both sides of its boundary.
"""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scanner.detect.detector import detect, keep_reason
from scanner.detect.examples import expand_example
from scanner.detect.filters import LOW_VARIETY_MAX_DISTINCT, LOW_VARIETY_MIN_LEN, is_placeholder
from scanner.detect.matcher import Matcher
from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import load_builtin

RULES = load_builtin()
BY_ID = RULES.by_id()
MATCHER = Matcher(RULES, "re2")
WORDS = ("your", "YOUR", "todo", "TODO", "xxxx", "XXXX", "example", "changeme", "dummy", "sample", "replace",
         "placeholder", "redacted", "fixme", "insert", "notreal")
PREFIX_RULES = ("openai.project-key", "anthropic.api-key", "github.pat", "github.fine-grained-pat",
                "huggingface.access-token", "slack.bot-token", "gitlab.pat", "groq.api-key", "replicate.api-token",
                "npm.access-token", "vault.service-token", "pinecone.api-key", "aws.access-key-id",
                "google.gemini-api-key", "perplexity.api-key", "tavily.api-key", "docker.personal-access-token")
RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pem(seed: int, nbytes: int, label: str) -> str:
    body = base64.b64encode(random.Random(seed).randbytes(nbytes)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def _overwrite(value: str, start: int, word: str, lo: int, hi: int) -> str:
    """``value`` with ``word`` written over it at a position in [lo, hi - len(word)]; line breaks kept."""
    span = hi - lo - len(word)
    if span < 0:
        return value
    at = lo + start % (span + 1)
    out = list(value)
    for i, c in enumerate(word):
        if out[at + i] != "\n":
            out[at + i] = c
    return "".join(out)


def _hits(value: str, rule_id: str, line: str) -> list[tuple[str, str | None]]:
    data = line.encode()
    hits = [h for h in MATCHER.scan(data) if h.rule.id == rule_id and data[h.start : h.end].decode() == value]
    return [(value, keep_reason(h, value, "src/settings.py", data[h.match_start : h.start])) for h in hits]


@RANDOM
@given(seed=st.integers(0, 2**32), nbytes=st.sampled_from([600, 1190, 1218, 2348]),
       label=st.sampled_from(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"]),
       word=st.sampled_from(WORDS), at=st.integers(0, 10**6))
def test_pem_private_key_is_never_dropped(seed, nbytes, label, word, at):
    clean = _pem(seed, nbytes, label)
    header = clean.index("\n") + 1
    value = _overwrite(clean, at, word, header, clean.rindex("\n"))
    found = detect(MATCHER, f"key = '''{value}'''\n".encode(), source="file", path="deploy/key.pem")
    assert [d.match.secret.value for d in found if d.match.rule_id == "pem.private-key"] == [value]


@RANDOM
@given(rule_id=st.sampled_from(PREFIX_RULES), seed=st.text(min_size=1, max_size=8), word=st.sampled_from(WORDS),
       at=st.integers(0, 10**6))
def test_fixed_prefix_token_with_a_placeholder_word_is_never_dropped_as_placeholder(rule_id, seed, word, at):
    rule = BY_ID[rule_id]
    line, secret = expand_example(rule.examples[0], f"{rule_id}#{seed}")
    assert secret
    prefix = next(p for p in public_prefixes(rule) if secret.startswith(p))
    value = _overwrite(secret, at, word, len(prefix), len(secret))
    assume(value != secret)
    hits = _hits(value, rule_id, line.replace(secret, value))
    assume(hits)  # the word fits the rule's alphabet and position (a pattern that rejects it is not our concern)
    for _, reason in hits:
        assert reason != "placeholder", (rule_id, word)
        assert reason in (None, f"invalid-{rule.validator}"), reason  # a checksum may fail; nothing else drops it


@pytest.mark.parametrize("rule_id", PREFIX_RULES + ("pem.private-key",))
def test_real_examples_are_kept(rule_id):
    rule = BY_ID[rule_id]
    for i in range(20):
        line, secret = expand_example(rule.examples[0], f"{rule_id}#kept#{i}")
        assert _hits(secret, rule_id, line) == [(secret, None)]


@pytest.mark.parametrize("value", [
    "sk-proj-your-key-here", "xxxxxxxxxxxxxxxxxxxxxxxx", "<your-api-key>", "changeme", "your-api-key-here",
    "${OPENAI_API_KEY}", "YOUR_API_KEY_HERE", "{{ api_key }}", "process.env.OPENAI_API_KEY", "****************",
])
def test_true_placeholders_are_dropped_whatever_the_rule(value):
    assert is_placeholder(value)
    assert is_placeholder(value, exact_prefix="sk-proj-" if value.startswith("sk-proj-") else "")


@pytest.mark.parametrize(("value", "prefix"), [
    ("ghp_" + "x" * 36, "ghp_"), ("ghp_" + "0" * 36, "ghp_"), ("hf_" + "X" * 34, "hf_"),
    ("sk-ant-api03-" + "your-api-key-goes-here", "sk-ant-api03-"), ("xoxb-0000000000-0000000000-" + "x" * 24, "xoxb-"),
    ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "https://hooks.slack.com/"),
    ("glpat-" + "abcdefghijklmnopqrst", "glpat-"),
])
def test_exact_format_placeholders_are_dropped(value, prefix):
    assert is_placeholder(value, exact_prefix=prefix)


def test_exact_format_placeholder_in_a_real_scan():
    line = 'GITHUB_TOKEN = "ghp_' + "x" * 36 + '"\n'
    assert detect(MATCHER, line.encode(), source="file", path="src/a.py") == []


@pytest.mark.parametrize(("body", "placeholder"), [
    ("xy" * (LOW_VARIETY_MIN_LEN // 2), True),  # exactly the minimum length, two distinct characters
    (("xy" * LOW_VARIETY_MIN_LEN)[: LOW_VARIETY_MIN_LEN - 1], False),  # one shorter
    ("q" * LOW_VARIETY_MIN_LEN, True),  # one distinct character
    (("xyz" * LOW_VARIETY_MIN_LEN)[:LOW_VARIETY_MIN_LEN], False),  # one more distinct character than allowed
    (("xyz" * 10)[:12], False),
    ("xyxy" * 3, True),
    ("XyXyXy", True),  # case-insensitive
])
def test_low_variety_threshold_boundaries(body, placeholder):
    assert LOW_VARIETY_MIN_LEN == 6 and LOW_VARIETY_MAX_DISTINCT == 2  # the documented threshold
    assert is_placeholder("tok-" + body) is placeholder
    assert is_placeholder("tok-" + body, exact_prefix="tok-") is placeholder

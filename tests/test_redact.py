"""The redaction policy: the format's public prefix, a fixed mask, the last 4 characters; nothing else."""

from __future__ import annotations

import pytest
from conftest import fake_key

from scanner.detect.prefixes import public_prefixes
from scanner.detect.ruleset import load_builtin
from scanner.redact import MASK, redact

RULES = {r.id: r for r in load_builtin()}


@pytest.mark.parametrize(("rule_id", "prefix"), [
    ("openai.project-key", "sk-proj-"), ("anthropic.api-key", "sk-ant-api03-"), ("aws.access-key-id", "AKIA"),
    ("github.pat", "ghp_"), ("huggingface.access-token", "hf_"), ("slack.bot-token", "xoxb-"),
])
def test_vendor_key_shows_prefix_mask_and_last_four(rule_id, prefix):
    value = fake_key(rule_id)
    assert value.startswith(prefix)
    assert redact(value, public_prefixes(RULES[rule_id])) == prefix + MASK + value[-4:]


def test_aws_prefix_follows_the_value():
    assert {"AKIA", "ASIA"} <= set(public_prefixes(RULES["aws.access-key-id"]))
    assert redact("ASIA" + "Q" * 12 + "WXYZ", public_prefixes(RULES["aws.access-key-id"])) == "ASIA" + MASK + "WXYZ"


def test_generic_secret_shows_no_prefix():
    assert public_prefixes(RULES["generic.api-key"]) == ()
    value = "sk-proj-" + "A1b2C3d4E5f6G7h8"
    assert redact(value) == MASK + value[-4:]


def test_pem_shows_its_header_line_only():
    value = fake_key("pem.private-key")
    shown = redact(value, public_prefixes(RULES["pem.private-key"]))
    header = value.splitlines()[0]
    assert shown.startswith(header + MASK) and value.splitlines()[1] not in shown


def test_mask_does_not_reveal_the_length():
    assert len(redact("x9" * 20)) == len(redact("x9" * 200)) == len(MASK) + 4


@pytest.mark.parametrize("n", [0, 1, 4, 8, 11])
def test_short_secret_shows_no_tail(n):
    value = "Zq7"[:n] + "k" * max(0, n - 3)
    assert redact(value) == MASK


def test_at_least_eight_characters_stay_hidden():
    assert redact("ghp_" + "abcdefghij", ("ghp_",)) == "ghp_" + MASK  # 14 chars: the tail would leave 6 hidden
    assert redact("ghp_abcd", ("ghp_",)) == MASK  # the prefix would leave 4 hidden
    assert redact("ghp_" + "abcdefgh" + "WXYZ", ("ghp_",)) == "ghp_" + MASK + "WXYZ"


def test_prefix_not_shown_when_the_value_does_not_start_with_it():
    assert redact("Xk9mPqR2sT4vW6yZ8aB1", ("sk-",)) == MASK + "8aB1"

"""The matcher: both engines agree on a realistic corpus, and hostile input scans in linear time."""

from __future__ import annotations

import random

import pytest
from conftest import plant
from support.toolcheck import need

from scanner.detect.examples import expand_example
from scanner.detect.matcher import Matcher, hyperscan_available
from scanner.detect.ruleset import load_builtin

RULES = load_builtin()


def _corpus(seed: int = 7) -> bytes:
    """Source-like text with every rule's examples and negative examples planted among decoys."""
    rng = random.Random(seed)
    lines = []
    filler = ["def f(x):", "    return x + 1", "import os", "API_URL = 'https://api.example.test/v1'",
              "token = os.environ['TOKEN']", "# api key goes here", "password = ''", "key: value", "sha = '"
              + "ab12" * 10 + "'", ""]
    for rule in RULES:
        for i, ex in enumerate(rule.examples):
            text, secret = expand_example(ex, f"{rule.id}#{i}#corpus")
            if secret:
                plant(secret)
            lines.append(text)
            lines.extend(rng.choice(filler) for _ in range(rng.randrange(0, 6)))
        for i, ex in enumerate(rule.negative_examples):
            lines.append(expand_example(ex, f"{rule.id}#n{i}#corpus")[0])
    return "\n".join(lines).encode()


def test_engines_give_identical_results():
    need(hyperscan_available(), "hyperscan wheel not available on this platform")
    data = _corpus()
    hs = Matcher(RULES, engine="hyperscan")
    r2 = Matcher(RULES, engine="re2")
    key = lambda h: (h.rule.id, h.start, h.end)  # noqa: E731
    a = sorted(map(key, hs.scan(data)))
    b = sorted(map(key, r2.scan(data)))
    assert a == b
    assert len(a) >= sum(len(r.examples) for r in RULES)


@pytest.mark.parametrize("engine", ["re2", "hyperscan"])
def test_hostile_10mb_line_is_linear(engine):
    """Inputs that make backtracking engines explode complete (timing lives in bench/), find the one real key
    planted at the end of each with its exact span, and yield a bounded number of candidates, not one per repeat."""
    if engine == "hyperscan":
        need(hyperscan_available(), "hyperscan wheel not available on this platform")
    m = Matcher(RULES, engine=engine)
    rule = RULES.by_id()["anthropic.api-key"]
    for n, chunk in enumerate((b"sk-" * 3_500_000, b"a" * 10_000_000, b"api_key=" + b"A" * 10_000_000,
                               b"-----BEGIN RSA PRIVATE KEY-----" + b"A" * 10_000_000, b"xoxb-1" * 1_700_000)):
        text, secret = expand_example(rule.examples[0], f"hostile#{n}")
        assert secret
        plant(secret)
        data = chunk + b" \n" + text.encode() + b"\n"
        hits = m.scan(data)
        found = [data[h.start : h.end].decode() for h in hits if h.rule.id == rule.id]
        assert found == [secret], (n, len(found))
        assert len(hits) <= 16, (n, len(hits))  # a few rule candidates, never one per repeated prefix


def test_window_extraction_on_long_lines():
    """A key in the middle of a long minified line is found with the right span by both engines."""
    rule = RULES.by_id()["openai.project-key"]
    text, secret = expand_example(rule.examples[0], "long-line")
    plant(secret)
    data = (b"var a=1;" * 50_000) + text.encode() + (b";var b=2" * 50_000)
    engines = ["re2"] + (["hyperscan"] if hyperscan_available() else [])
    for e in engines:
        hits = [h for h in Matcher(RULES, engine=e).scan(data) if h.rule.id == rule.id]
        assert [data[h.start:h.end].decode() for h in hits] == [secret], e

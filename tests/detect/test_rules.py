"""Every built-in rule's examples, checked automatically: one named test per example."""

from __future__ import annotations

import pytest

from scanner.detect.examples import expand_example
from scanner.detect.matcher import Matcher, hyperscan_available
from scanner.detect.rulecheck import example_problem, negative_problem, rule_problems
from scanner.detect.ruleset import load_builtin

RULES = load_builtin()
POSITIVE = [(r, i) for r in RULES for i in range(len(r.examples))]
NEGATIVE = [(r, i) for r in RULES for i in range(len(r.negative_examples))]


@pytest.fixture(scope="module")
def full_matchers() -> dict[str, Matcher]:
    engines = ["re2"] + (["hyperscan"] if hyperscan_available() else [])
    return {e: Matcher(RULES, engine=e, structure_rules=True) for e in engines}


@pytest.mark.parametrize(("rule", "index"), POSITIVE, ids=[f"{r.id}[{i}]" for r, i in POSITIVE])
def test_positive_example(rule, index):
    assert example_problem(rule, index) is None


@pytest.mark.parametrize(("rule", "index"), NEGATIVE, ids=[f"{r.id}[neg{i}]" for r, i in NEGATIVE])
def test_negative_example(rule, index):
    assert negative_problem(rule, index) is None


@pytest.mark.parametrize("rule", RULES.rules, ids=[r.id for r in RULES])
def test_rule_is_valid(rule):
    assert [str(p) for p in rule_problems(rule, check_examples=False)] == []


@pytest.mark.parametrize(("rule", "index"), POSITIVE, ids=[f"{r.id}[{i}]" for r, i in POSITIVE])
def test_example_found_by_every_engine_with_all_rules(rule, index, full_matchers):
    """The full ruleset (all rules compiled together) finds the example's secret in both engines."""
    text, expected = expand_example(rule.examples[index], f"{rule.id}#{index}")
    data = text.encode()
    for engine, matcher in full_matchers.items():
        found = {data[h.start : h.end].decode() for h in matcher.scan(data) if h.rule.id == rule.id}
        assert found, f"{engine} missed the example"
        if expected is not None:
            assert expected in found, engine


def test_rule_ids_unique_and_namespaced():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all("." in i for i in ids)

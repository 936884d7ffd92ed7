"""Validate rules: the same checks back the test suite and ``credsweep rules check DIR``."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.detect import validators
from scanner.detect.detector import detect
from scanner.detect.examples import expand_example
from scanner.detect.matcher import Matcher, compile_re2
from scanner.detect.ruleset import CATEGORIES, CERTAINTIES, Rule, RuleSet
from scanner.detect.verifyspec import verify_problems


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One thing wrong with one rule."""

    rule_id: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning" if self.warning else "error"
        return f"{self.rule_id}: {kind}: {self.message}"


def _single(rule: Rule) -> Matcher:
    return Matcher(RuleSet((rule,)), engine="re2", structure_rules=True)


def example_problem(rule: Rule, index: int, matcher: Matcher | None = None) -> str | None:
    """Problem with positive example ``index``: it must match, capture the marked secret and hold a keyword."""
    try:
        text, expected = expand_example(rule.examples[index], f"{rule.id}#{index}")
    except Exception as exc:  # noqa: BLE001 - a bad template is a rule problem, reported as text
        return f"example {index}: {exc}"
    m = matcher or _single(rule)
    found = [d.match for d in detect(m, text.encode(), source="file", path="example.txt") if d.match.rule_id == rule.id]
    if not found:
        return f"example {index} does not match"
    if expected is not None and expected not in [f.secret.value for f in found]:
        return f"example {index}: matched, but the captured secret is not the text marked with [[ ]]"
    if rule.keywords:
        low = text.lower()
        if not any(k in low for k in rule.keywords):
            return f"example {index}: no keyword of the rule occurs in the example (the prefilter would skip it)"
    return None


def negative_problem(rule: Rule, index: int, matcher: Matcher | None = None) -> str | None:
    """Problem with negative example ``index``: it must produce no match of this rule."""
    try:
        text, _ = expand_example(rule.negative_examples[index], f"{rule.id}#neg{index}")
    except Exception as exc:  # noqa: BLE001
        return f"negative example {index}: {exc}"
    m = matcher or _single(rule)
    if any(d.match.rule_id == rule.id for d in detect(m, text.encode(), source="file", path="example.txt")):
        return f"negative example {index} matches"
    return None


def rule_problems(rule: Rule, check_examples: bool = True) -> list[RuleProblem]:
    """Every problem with one rule: schema, pattern, keywords, examples."""
    out: list[RuleProblem] = []

    def err(msg: str, warning: bool = False) -> None:
        out.append(RuleProblem(rule.id, msg, warning))

    if rule.category not in CATEGORIES:
        err(f"category {rule.category!r} is not one of {', '.join(sorted(CATEGORIES))}")
    if rule.certainty not in CERTAINTIES:
        err(f"certainty {rule.certainty!r} is not one of {', '.join(sorted(CERTAINTIES))}")
    if rule.validator and rule.validator not in validators.VALIDATORS:
        err(f"unknown validator {rule.validator!r}")
    for problem in verify_problems(rule.verify):
        err(problem)
    try:
        rx = compile_re2(rule.pattern)
    except Exception as exc:  # noqa: BLE001 - re2.error
        err(f"pattern does not compile in RE2 (linear-time syntax only: no lookaround or backreferences): {exc}")
        return out
    if rule.secret_group > rx.groups:
        err(f"secret_group {rule.secret_group} but the pattern has {rx.groups} group(s)")
    if not rule.keywords:
        err("no keywords: every rule needs at least one prefilter keyword")
    if not rule.remediation:
        err("no remediation steps")
    if not rule.examples:
        err("no positive example")
    if not rule.negative_examples:
        err("no negative example")
    if check_examples and not out:
        m = _single(rule)
        for i in range(len(rule.examples)):
            msg = example_problem(rule, i, m)
            if msg:
                err(msg)
        for i in range(len(rule.negative_examples)):
            msg = negative_problem(rule, i, m)
            if msg:
                err(msg)
    return out


def ruleset_problems(ruleset: RuleSet) -> list[RuleProblem]:
    """Problems of every rule in a ruleset."""
    return [p for r in ruleset for p in rule_problems(r)]

"""Property-based tests: random, truncated and mutated input to every parser and to ``analyse``; no exception
escapes, and parse failures are ParseError (which ``analyse`` turns into a parse-error skip)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.detect.matcher import Matcher
from scanner.detect.ruleset import load_builtin
from scanner.structure import analyse, decode, parse
from scanner.structure.nodes import ParseError

SAMPLES = {
    "yaml": "apiVersion: v1\nkind: Secret\ndata:\n  K: c2VjcmV0LXZhbHVlLTEyMzQ=\nlist: [a, {b: c}]\nblock: |\n  x\n",
    "json": '{"auths": {"r": {"auth": "dXNlcjpwYXNz"}}, "a": [1, 2.5e3, true, null, "\\u0041"]}',
    "toml": '[a]\nkey = "v"\n[[b]]\nc = """\nmulti\n"""\nd = [1, "x"]\n',
    "ini": "[s]\napi_key = v\n  continued\n; comment\n//reg/:_authToken=t\n",
    "env": 'export A=1\nB="multi\nline"\nC=\'q\'\nD=x # c\n',
    "properties": "a=b\nc : d\\\n  e\n! comment\nf\\u0041=g\n",
    "netrc": "machine h login u password p\ndefault login x password y\nmacdef init\ncd /\n\n",
    "dockerfile": 'FROM x\nENV A=1 B="2" \\\n  C=3\nARG T\nCMD ["a", "--api-key", "b"]\nRUN x --token=y\n',
    "hcl": 'variable "k" {\n  default = "v"\n}\nx = {\n  y = [\"a\", \"b\"]\n}\nz = <<EOF\nq\nEOF\n',
    "notebook": json.dumps({"cells": [{"cell_type": "code", "source": ["x = 'y'\n"], "outputs": []}]}),
}
PATHS = {"yaml": "a.yaml", "json": "a.json", "toml": "a.toml", "ini": "a.ini", "env": ".env",
         "properties": "a.properties", "netrc": ".netrc", "dockerfile": "Dockerfile", "hcl": "a.tf",
         "notebook": "a.ipynb"}
FORMATS = sorted(SAMPLES)
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_builtin(), engine="re2")


def _parse_ok(fmt: str, text: str) -> None:
    try:
        parse(fmt, text)
    except ParseError:
        pass


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(text=st.text(max_size=400))
def test_random_text_never_raises(fmt, text):
    _parse_ok(fmt, text)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_truncated_and_mutated_samples_never_raise(fmt, data):
    sample = SAMPLES[fmt]
    cut = data.draw(st.integers(0, len(sample)))
    insert = data.draw(st.text(alphabet='{}[]"\':=\\\n -#|>&*!%$', max_size=6))
    at = data.draw(st.integers(0, cut))
    _parse_ok(fmt, sample[:at] + insert + sample[at:cut])


@pytest.mark.parametrize("fmt", FORMATS)
def test_samples_parse(fmt):
    assert parse(fmt, SAMPLES[fmt])


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(raw=st.binary(max_size=300), prefix=st.sampled_from([b"", b"api_key: ", b'{"token": "', b"PASSWORD="]))
def test_analyse_never_raises(matcher, fmt, raw, prefix):
    result = analyse(matcher, prefix + raw, source="file", path=PATHS[fmt], root=None, commit=None)
    if result is not None:
        assert all(s.reason == "parse-error" for s in result.skipped)


def test_deep_nesting_is_a_parse_error_not_a_crash(matcher):
    gate = '"api_key": "s3cr3t-v4lue-2024"\n'  # credsweep:allow (obviously fake test value)
    for fmt, text in (("json", "[" * 5000), ("yaml", "a: " + "[" * 5000), ("toml", "a = " + "[" * 5000)):
        result = analyse(matcher, (gate + text).encode(), source="file", path=PATHS[fmt], root=None, commit=None)
        assert result is not None and [s.reason for s in result.skipped] == ["parse-error"], fmt


def _count_nodes(node) -> int:
    from scanner.structure.nodes import Mapping, Sequence

    if isinstance(node, Mapping):
        return 1 + sum(_count_nodes(v) for _, v in node.items)
    if isinstance(node, Sequence):
        return 1 + sum(_count_nodes(v) for v in node.items)
    return 1


def test_yaml_alias_bomb_is_bounded(matcher):
    """A billion-laughs document (9^10 leaves if aliases were expanded) is walked once per anchor: the node tree
    stays linear in the text, and the key assigned next to the bomb is still found by name."""
    from scanner.structure import yamlparse

    lines = ["api_key: s3cr3t-v4lue-2024", "a0: &a0 [token, token, token, token, token, token, token, token, token]"]  # credsweep:allow (fake)
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    text = "\n".join(lines)
    [doc] = yamlparse.parse(text)
    assert _count_nodes(doc) <= 2 + 10 * 10 + 10  # each anchor once, each alias a single empty scalar
    assert _count_nodes(doc) <= yamlparse.MAX_NODES
    result = analyse(matcher, text.encode(), source="file", path="bomb.yaml", root=None, commit=None)
    assert result is not None and list(result.skipped) == []
    assert ("api_key", 1) in {(d.match.location.key_path, d.match.location.line) for d in result.detected}
    from scanner.detect.detector import detect

    text_pass = detect(matcher, text.encode(), source="file", path="bomb.yaml")  # the text pass runs on it too
    assert [(d.match.rule_id, d.match.location.line) for d in text_pass] == [("generic.api-key", 1)]


def test_yaml_too_many_nodes_is_refused(matcher):
    from scanner.structure import yamlparse

    text = "a: [" + ", ".join("x" for _ in range(yamlparse.MAX_NODES + 10)) + "]"
    with pytest.raises(ParseError):
        yamlparse.parse(text)


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=200), hint=st.sampled_from([None, "base64"]))
def test_decoding_is_bounded(value, hint):
    budget = decode.FileBudget(4096)
    out = decode.variants(value, budget, hint=hint)
    assert len(out) <= 3 * 3 * 3 + 3
    assert all(label for _, label in out)


def test_nested_base64_chain_stops():
    text = "a" * 40
    for _ in range(8):
        text = base64.b64encode(text.encode()).decode()
    assert len(decode.variants(text, decode.FileBudget())) <= decode.MAX_DEPTH

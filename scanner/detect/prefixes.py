"""A rule's public prefix (``sk-proj-``, ``AKIA``, ``ghp_``), read from the literal start of its secret group: the
part of a key that redaction may show.
"""

from __future__ import annotations

from functools import lru_cache

from scanner.detect.ruleset import Rule, group_openings

_META = frozenset("[](){}|.^$*+?")


_QUANT = frozenset("?*{")


def _literal_prefix(pattern: str, i: int) -> str:
    """The literal characters ``pattern`` matches from index ``i`` on, up to the first that is not fixed."""
    out: list[str] = []
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if not nxt or nxt.isalnum():
                break  # \b, \d, \w ...: a class or an assertion, not a literal
            c, step = nxt, 2
        elif c in _META:
            break
        else:
            step = 1
        if pattern[i + step : i + step + 1] in _QUANT:
            break  # the character is optional or repeated a variable number of times
        out.append(c)
        i += step
        if pattern[i : i + 1] == "+":
            break
    return "".join(out)


def _group_start(pattern: str, group: int) -> int | None:
    """Index just after the opening parenthesis of capturing group ``group`` (1-based)."""
    for count, i in enumerate(group_openings(pattern), 1):
        if count == group:
            j = i + 1
            if pattern[j : j + 1] == "?":
                j = pattern.index(">", j) + 1
            return j
    return None


def _split_alternatives(pattern: str, i: int) -> list[int]:
    """Start indices of the top-level alternatives of the group whose body starts at ``i``."""
    starts, depth, in_class, j = [i], 0, False, i
    while j < len(pattern):
        c = pattern[j]
        if c == "\\":
            j += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        elif c == "|" and depth == 0:
            starts.append(j + 1)
        j += 1
    return starts


@lru_cache(maxsize=4096)
def _prefixes(pattern: str, group: int, generic: bool) -> tuple[str, ...]:
    if generic:
        return ()
    start = 0 if group == 0 else _group_start(pattern, group)
    if start is None:
        return ()
    if pattern.startswith("(?:", start):
        found = {_literal_prefix(pattern, a) for a in _split_alternatives(pattern, start + 3)}
    else:
        found = {_literal_prefix(pattern, start)}
    return tuple(sorted((p for p in found if p), key=lambda p: (-len(p), p)))  # longest first, then stable


def public_prefixes(rule: Rule) -> tuple[str, ...]:
    """The public, fixed prefixes of a rule's secret (``sk-proj-``, ``AKIA``/``ASIA``..., ``ghp_``), longest first.

    Taken from the literal start of the secret's group in the pattern; a generic rule, or a pattern that starts
    with a class or is case-insensitive, has none. ``redact`` shows the one the value starts with.
    """
    return _prefixes(rule.pattern, rule.secret_group, rule.is_generic)

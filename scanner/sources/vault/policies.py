"""Vault ACL policies: a minimal HCL reader (``path "..." { capabilities = [...] }``) and the OVERSCOPED check.

No HCL library: Vault policies use one small part of HCL, and a reader that sees only path blocks and their
``capabilities`` lists is enough to judge them. Anything else in a block (``allowed_parameters``, ``min_wrapping_ttl``)
is ignored. JSON policies (also accepted by Vault) are read with ``json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from scanner.model import CheckId, Severity, Violation

# Capabilities that read or change what sits at a path ("list" only shows names; "deny" removes access).
_REACH = frozenset({"create", "read", "update", "patch", "delete", "sudo", "recover"})
_BUILTIN = frozenset({"root"})  # cannot be read or changed; root tokens are flagged on their own
_SYS_PROBES = ("sys/mounts/x", "sys/auth/x", "sys/policies/acl/x", "sys/policy/x", "sys/seal", "sys/raw/x",
               "sys/audit/x", "sys/rotate", "sys/generate-root/attempt")
_AUTH_PROBES = ("auth/token/create", "auth/token/accessors", "auth/token/lookup-accessor",
                "auth/approle/role/x/secret-id", "auth/userpass/users/x")


@dataclass(frozen=True, slots=True)
class PathRule:
    """One ``path`` block of a policy."""

    path: str
    capabilities: tuple[str, ...]


_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|#[^\n]*|//[^\n]*|/\*.*?\*/', re.S)
_PATH = re.compile(r'path\s+"((?:\\.|[^"\\])*)"\s*\{')
_CAPS = re.compile(r'capabilities\s*=\s*\[([^\]]*)\]')
_STR = re.compile(r'"((?:\\.|[^"\\])*)"')


def _strip_comments(text: str) -> str:
    return _COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)


def _block_end(text: str, start: int) -> int:
    """Index just past the ``}`` closing the block whose ``{`` is at ``start - 1``; strings are skipped."""
    depth, i = 1, start
    while i < len(text) and depth:
        ch = text[i]
        if ch == '"':
            m = _STR.match(text, i)
            i = m.end() if m else i + 1
            continue
        depth += ch == "{"
        depth -= ch == "}"
        i += 1
    return i


def parse_policy(text: str) -> list[PathRule]:
    """The path rules of a policy (HCL or JSON). Unparseable text gives no rules."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return list(_json_rules(doc))
    body = _strip_comments(text)
    out = []
    pos = 0
    while m := _PATH.search(body, pos):
        end = _block_end(body, m.end())
        block = body[m.end():end - 1]
        caps: list[str] = []
        for cm in _CAPS.finditer(block):
            caps.extend(s.lower() for s in _STR.findall(cm.group(1)))
        out.append(PathRule(m.group(1), tuple(caps)))
        pos = end
    return out


def _json_rules(doc: dict[str, object]) -> Iterator[PathRule]:
    paths = doc.get("path")
    if isinstance(paths, dict):
        for p, body in paths.items():
            caps = body.get("capabilities", []) if isinstance(body, dict) else []
            yield PathRule(str(p), tuple(str(c).lower() for c in caps if isinstance(c, str)))


def glob_regex(path: str) -> re.Pattern[str]:
    """Vault path glob: ``+`` is one segment, a trailing ``*`` is any suffix."""
    prefix = path[:-1] if path.endswith("*") else path
    rx = "".join("[^/]+" if ch == "+" else re.escape(ch) for ch in prefix)
    return re.compile(rx + (".*" if path.endswith("*") else "") + r"\Z")


def is_glob(path: str) -> bool:
    """True for paths with ``*`` or ``+`` wildcards."""
    return path.endswith("*") or "+" in path


def model_key_probes(mounts: Iterable[tuple[str, int]]) -> dict[str, tuple[str, ...]]:
    """Probe paths for the KV mounts that hold model keys: (mount without slash, kv version) -> probes."""
    out: dict[str, tuple[str, ...]] = {}
    for mount, version in mounts:
        m = mount.strip("/")
        out[m] = (f"{m}/data/x/y", f"{m}/data/x") if version == 2 else (f"{m}/x/y", f"{m}/x")
    return out


# sudo on this exact path, with nothing else, is what listing token accessors needs (credsweep's own policy).
_SUDO_EXEMPT = {"auth/token/accessors": frozenset({"list", "read", "sudo"})}


def check_policy(name: str, text: str, model_mounts: Iterable[tuple[str, int]] = ()) -> list[Violation]:
    """OVERSCOPED violations for one policy.

    - sudo on any path (except exactly ``list``+``sudo`` on ``auth/token/accessors``);
    - a wildcard path that covers arbitrary paths under ``sys/`` or ``auth/`` (``sys/*``, ``+/*``, ``*``) with any
      capability beyond ``list``, or that writes to a sensitive ``sys/``/``auth/`` endpoint;
    - a wildcard path that reads or writes the values in a KV mount holding model keys (MEDIUM for read only).
    """
    if name in _BUILTIN:
        return []
    model = model_key_probes(model_mounts)
    subject = f"vault-policy:{name}"
    out: list[Violation] = []
    for rule in parse_policy(text):
        caps = set(rule.capabilities)
        if "deny" in caps:
            continue
        if "sudo" in caps and not caps <= _SUDO_EXEMPT.get(rule.path, frozenset()):
            out.append(Violation(
                check_id=CheckId("OVERSCOPED"), subject=subject, severity=Severity.HIGH,
                message=f'policy {name} grants sudo on "{rule.path}" ({", ".join(rule.capabilities)})',
                remediation=("Remove sudo; give root-protected endpoints only to a break-glass policy.",)))
            continue
        reach = caps & _REACH
        if not reach or not is_glob(rule.path):
            continue
        rx = glob_regex(rule.path)
        writes = bool(reach - {"read"})
        hit = []
        for area, broad, specific in (("sys/", "sys/zz-any/zz", _SYS_PROBES), ("auth/", "auth/zz-any/zz", _AUTH_PROBES)):
            if rx.match(broad) or (writes and any(rx.match(p) for p in specific)):
                hit.append(area)
        model_hit = [f"{m}/ (holds model keys)" for m, ps in model.items() if any(rx.match(p) for p in ps)]
        if not hit and not model_hit:
            continue
        sev = Severity.MEDIUM if not hit and not writes else Severity.HIGH
        out.append(Violation(
            check_id=CheckId("OVERSCOPED"), subject=subject, severity=sev,
            message=f'policy {name} grants {", ".join(sorted(reach))} on wildcard path "{rule.path}", '
                    f'which reaches {", ".join(hit + model_hit)}',
            remediation=("Grant exact paths (or a narrow prefix per application) instead of a wildcard over "
                         "sensitive paths.",)))
    return out

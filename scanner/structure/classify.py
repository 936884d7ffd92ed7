"""Which configuration format a file is, from its name first and its first bytes second; cheap by design.

A file the structure pass would add nothing to (no secret-like key name, no reference syntax, nothing encoded
that a format says to decode) is not parsed at all: the gate is one regular-expression search.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.detect.matcher import re2_options


def _re2(pattern: bytes) -> Any:
    """Gates run on every configuration file: RE2's automata keep them linear and fast (Python's ``re`` tries the
    alternations at every offset and was 20 times slower here)."""
    import re2

    return re2.compile(b"(?m)" + pattern, re2_options())


_EXT = {
    "yaml": "yaml", "yml": "yaml", "json": "json", "jsonc": "json", "json5": "json", "toml": "toml",
    "ini": "ini", "cfg": "ini", "conf": "ini", "cnf": "ini", "properties": "properties", "env": "env",
    "tf": "hcl", "tfvars": "hcl", "hcl": "hcl", "ipynb": "notebook", "kubeconfig": "yaml",
    "dockerfile": "dockerfile", "containerfile": "dockerfile",
}
_NAMES = {
    ".env": "env", ".envrc": "env", ".flaskenv": "env", ".npmrc": "ini", ".yarnrc": "ini", ".pypirc": "ini",
    "pip.conf": "ini", "pip.ini": "ini", ".netrc": "netrc", "_netrc": "netrc", ".dockercfg": "json",
    "dockerfile": "dockerfile", "containerfile": "dockerfile", "kubeconfig": "yaml", "credentials": "ini",
    "config": "",
    ".s3cfg": "ini", ".pgpass": "", ".gitconfig": "ini", "pyproject.toml": "toml", "pipfile": "toml",
}
_PARENT_NAMES = {(".kube", "config"): "yaml", (".aws", "config"): "ini"}

# The content gate: a secret-like key with a value, an encoded-data marker, or a reference a format declares.
_GATE = _re2(
    rb"(?i)(?:key|token|secret|passw|passphrase|pwd|auth|credential|private|bearer|certificate|"
    rb"client-key-data|dsn|conn(?:ection)?[_-]?str)[\w.\-\"'\]\\]{0,40}\s*(?:[:=]|\"\s*:|\s+\"|\s*\{)"
    rb"|://[^/\s:@\"']{1,100}:[^@\s/\"']{1,200}@"
    rb"|--[\w-]{0,30}(?:key|token|secret|password)"
    rb"|kind:\s*['\"]?Secret|\"kind\":\s*\"Secret|model_list|secretKeyRef|auths|"
    rb"^\s*password\s|\bmachine\s"
)


def format_of(path: str, head: bytes = b"") -> str | None:
    """The format family of a file (``yaml``, ``json``, ``toml``, ``ini``, ``env``, ``properties``, ``netrc``,
    ``dockerfile``, ``hcl``, ``notebook``), or None when neither its name nor its first bytes say it is one.
    Called for every file scanned, so the common case (source code) is two dictionary lookups."""
    slash = max(path.rfind("/"), path.rfind("\\"))
    name = path[slash + 1 :].lower()
    dot = name.rfind(".")
    ext = name[dot + 1 :] if dot > 0 else ""
    if ext in _EXT:
        return _EXT[ext]
    if name in _NAMES:
        parent = path[:slash].replace("\\", "/").rsplit("/", 1)[-1].lower() if slash > 0 else ""
        return _PARENT_NAMES.get((parent, name), _NAMES[name]) or None
    if ext and dot > 0 and name[:dot] not in ("env", "dockerfile", "containerfile", ".env", "config"):
        if not name.startswith((".env.", "dockerfile.", "containerfile.")):
            return None
    if name.startswith(".env.") or name.startswith("env.") and name.count(".") == 1:
        return "env"
    if name.startswith("dockerfile.") or name.startswith("containerfile."):
        return "dockerfile"
    parent = path[:slash].replace("\\", "/").rsplit("/", 1)[-1].lower() if slash > 0 else ""
    if (parent, name) in _PARENT_NAMES:
        return _PARENT_NAMES[(parent, name)]
    if name.startswith("config.") and parent == ".kube":
        return "yaml"
    if not ext and head:
        start = head.lstrip()[:64]
        if start.startswith((b"apiVersion:", b"---\n", b"kind:")):
            return "yaml"
    return None


# JSON and YAML cost the most to walk, and data files (API models, fixtures) are full of "token" keys: they need a
# secret-like key holding a literal with digits and letters (or a reference, a Secret, registry auths, a LiteLLM
# config, an --api-key flag, a URL with a password).
_STRICT_VALUE = _re2(  # run on lower-cased bytes: no (?i), no lookaround, so it stays fast on big files
    rb"(?:key|token|secret|passw|passphrase|pwd|auth|credential|private|bearer|dsn)[\w.\-]{0,40}[\"']?\s*:\s*"
    rb"[\"']?([^\s\"',}]{12,40})"
)
_STRICT_OTHER = _re2(
    rb"(?:key|token|secret|passw|pwd|auth)[\w.\-]{0,40}[\"']?\s*:\s*[\"']?(?:\$\{|\{\{|os\.environ|vault:|arn:aws)"
    rb"|://[^/\s:@\"']{1,100}:[^@\s/\"']{1,200}@"
    rb"|--[\w-]{0,30}(?:key|token|secret|password)"
    rb"|kind:\s*['\"]?secret|\"kind\":\s*\"secret|model_list|secretkeyref|\"auths\""
)
_DIGIT = re.compile(rb"[0-9]")
_LETTER = re.compile(rb"[a-z]")
_STRICT = frozenset({"json", "yaml"})


def worth_parsing(data: bytes, fmt: str | None = None) -> bool:
    """The cheap content gate: does anything in the file call for the structure pass?"""
    if fmt in _STRICT:
        low = data.lower()
        if _STRICT_OTHER.search(low):
            return True
        return any(_DIGIT.search(m.group(1)) and _LETTER.search(m.group(1)) for m in _STRICT_VALUE.finditer(low))
    return _GATE.search(data) is not None

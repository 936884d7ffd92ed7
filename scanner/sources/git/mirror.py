"""Repositories of an organisation: the list to scan, a stable share of it per shard, and bare mirrors kept in a
cache directory (cloned once with ``git clone --mirror``, then updated with ``git fetch``, never re-cloned).

Credentials for cloning come from the environment or git's credential helpers only: a URL that carries a password
or token is refused (it would end up in process listings, the cache's config and the output), and the name shown for
a repository never holds user information.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from scanner.errors import GitSourceError, UsageError

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_SCP = re.compile(r"^(?P<user>[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>[^\s]+)$")  # git@host:org/repo.git


@dataclass(frozen=True, slots=True)
class RepoSpec:
    """One repository to scan: a local path, or a remote URL to mirror. ``name`` is what reports show."""

    name: str
    url: str | None = None  # remote: mirrored into the cache
    path: Path | None = None  # local: scanned in place


def parse_spec(text: str, base: Path | None = None) -> RepoSpec:
    """A repository named on the command line or in a list file."""
    text = text.strip()
    if _SCHEME.match(text):
        parts = urlsplit(text)
        if parts.scheme == "file":
            local = Path(parts.path)
            return RepoSpec(name=str(local), url=text)
        if parts.password or (parts.username and parts.scheme in ("http", "https")):
            raise UsageError(f"{_shown(text)}: the URL carries credentials; give them through the environment or "
                             "a git credential helper, never in the repository list")
        return RepoSpec(name=_shown(text), url=text)
    m = _SCP.match(text)
    if m and not Path(text).exists():
        return RepoSpec(name=f"{m['host']}:{m['path']}", url=text)
    local = Path(text).expanduser()
    if base is not None and not local.is_absolute():
        local = base / local
    return RepoSpec(name=str(local), path=local)


def _shown(url: str) -> str:
    """A URL without user information, query or fragment: what the output may say."""
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    return urlunsplit((p.scheme, host, p.path, "", ""))


def read_list(path: Path) -> list[RepoSpec]:
    """A list file: one repository (URL or path) a line; ``#`` starts a comment; blank lines ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the repository list: {getattr(exc, 'strerror', None) or exc}") from None
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(parse_spec(line, base=path.parent))
    return out


def dedupe(specs: Iterable[RepoSpec]) -> list[RepoSpec]:
    """Each repository once, in the order first given."""
    seen: set[str] = set()
    out = []
    for s in specs:
        key = s.url or str(s.path)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise UsageError(f"--shard {text!r}: give I/N with 1 <= I <= N, for example --shard 2/4")
    return int(m[1]), int(m[2])


def in_shard(spec: RepoSpec, index: int, count: int) -> bool:
    """A stable share by a hash of the repository's name: adding a repository moves only its own work."""
    digest = hashlib.sha256(spec.name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def shard(specs: Sequence[RepoSpec], index: int, count: int) -> list[RepoSpec]:
    """The repositories of shard ``index`` of ``count``."""
    return [s for s in specs if in_shard(s, index, count)]


def mirror_dir(cache: Path, spec: RepoSpec) -> Path:
    """Where a remote repository's bare mirror lives in the cache: readable name plus a hash of the URL."""
    assert spec.url is not None
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", spec.name.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:60]
    return cache / f"{tail or 'repo'}-{hashlib.sha256(spec.url.encode()).hexdigest()[:12]}.git"


def update_mirror(cache: Path, spec: RepoSpec, timeout: float) -> tuple[Path, str]:
    """Clone the mirror the first time, fetch it afterwards. Returns its path and what was done."""
    target = mirror_dir(cache, spec)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "LC_ALL": "C"}
    if (target / "HEAD").is_file():
        cmd = ["git", "--git-dir", str(target), "fetch", "--prune", "--quiet", "origin"]
        done, verb = "fetched", "fetch"
    else:
        cache.mkdir(parents=True, exist_ok=True)
        cmd = ["git", "-c", "protocol.file.allow=always", "clone", "--mirror", "--quiet", "--", spec.url or "",
               str(target)]
        done, verb = "cloned", "clone"
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GitSourceError(f"{spec.name}: git {verb} did not finish in {timeout:g} s") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        msg = next((ln for ln in err if ln.startswith("fatal:")), err[-1] if err else f"exit {proc.returncode}")
        if spec.url:
            msg = msg.replace(spec.url, spec.name)
        raise GitSourceError(f"{spec.name}: {msg}")
    return target, done


def refs_digest(git_dir: Path) -> str | None:
    """A digest of every ref and its target (``git for-each-ref``): a mirror whose digest did not change holds the
    same history. None when git cannot list the refs."""
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "for-each-ref", "--format=%(objectname)\t%(refname)"],
                          capture_output=True, check=False, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        return None
    return _digest(proc.stdout)


def remote_refs_digest(git_dir: Path, timeout: float) -> str | None:
    """The same digest as :func:`refs_digest`, of the refs the mirror's origin has now (``git ls-remote``, no object
    is transferred). Equal to the digest recorded after the last scan: nothing moved, so neither a fetch nor a walk
    is needed. None when the remote cannot be listed (the caller then fetches, which reports the error)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "LC_ALL": "C"}
    try:
        proc = subprocess.run(["git", "--git-dir", str(git_dir), "ls-remote", "origin"], env=env,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    return _digest(proc.stdout)


def _digest(listing: bytes) -> str:
    """SHA-256 of "object TAB ref" lines sorted by ref; HEAD and peeled tag lines (``^{}``) left out, so a mirror's
    own refs and its remote's listing of them give the same digest."""
    rows = []
    for line in listing.splitlines():
        obj, _, ref = line.partition(b"\t")
        if ref.startswith(b"refs/") and not ref.endswith(b"^{}"):
            rows.append((ref, obj))
    return hashlib.sha256(b"".join(obj + b"\t" + ref + b"\n" for ref, obj in sorted(rows))).hexdigest()

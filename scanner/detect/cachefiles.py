"""On-disk caches (parsed built-in rules, compiled Hyperscan databases): data only, checked before every use.

What an attacker who can write the cache directory can and cannot do (SECURITY.md cites this):

* Nothing in a cache file is code. The rule cache is JSON rebuilt into ``Rule`` objects through the same
  validation as the YAML; the Hyperscan sidecar is a list of integers. No ``pickle``/``marshal``/``eval``.
* The directory is used only when it is a real directory (not a symlink) owned by the current user, not
  group/world-writable, and no ancestor is writable by others without the sticky bit; otherwise nothing is read
  or written there and rules are compiled in memory. Cache files are opened with ``O_NOFOLLOW`` and must be
  regular files owned by the user, not writable by others.
* Each file carries the credsweep version, the SHA-256 of what it was built from (rule text, patterns) and an
  HMAC-SHA256 tag over all of it with a random per-user key (``key``, 0600, in the cache directory). A file
  edited, truncated, copied from another machine or user, or built by another version fails the check and is
  ignored, rebuilt and named in a one-line note on stderr; it can never drop or change a rule. The tag is checked
  before ``hyperscan.loadb`` sees a byte.
* Limit: whoever can write files as the same user (or restores the whole directory, key included, from a CI cache
  of lower trust) can forge a tag. They still cannot run code through the rule cache (data only, validated), but a
  forged rule cache could weaken rules and a forged Hyperscan database reaches a C deserializer. Do not share or
  restore ``~/.cache/credsweep`` across trust levels, or set ``CREDSWEEP_CACHE_DIR`` to a fresh directory per job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import sys
from pathlib import Path

_MAGIC = b"credsweep-cache 1\n"
_MAX_FILE = 512 << 20
_KEY_NAME = "key"
_state: dict[str, object] = {}
_noted: set[str] = set()


def note(text: str) -> None:
    """One line on stderr, once per process per distinct text."""
    if text not in _noted:
        _noted.add(text)
        sys.stderr.write(f"credsweep: note: {text}\n")


def default_dir() -> Path:
    """``CREDSWEEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/credsweep``, else ``~/.cache/credsweep``."""
    base = os.environ.get("CREDSWEEP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "credsweep")
    return Path(base)


def _unsafe_dir(path: Path) -> str | None:
    """Why ``path`` may not hold caches, or None when it is the user's own private directory."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc.__class__.__name__})"
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != os.getuid():
        return "belongs to another user"
    if st.st_mode & 0o022:
        return "is writable by group or others"
    parent = Path(os.path.realpath(path.parent))
    for anc in (parent, *parent.parents):
        try:
            ast = os.stat(anc)
        except OSError:
            return f"has an unreadable parent {anc}"
        if ast.st_uid not in (0, os.getuid()):
            return f"has a parent {anc} that belongs to another user"
        if ast.st_mode & 0o022 and not ast.st_mode & stat.S_ISVTX:
            return f"has a parent {anc} writable by others"
    return None


def cache_dir() -> Path | None:
    """The checked cache directory (created 0700), or None (with a note) when it must not be used."""
    base = default_dir()
    key = str(base)
    if key in _state:
        value = _state[key]
        return value if isinstance(value, Path) else None
    result: Path | None = None
    try:
        if not os.path.lexists(base):
            os.makedirs(base, mode=0o700, exist_ok=True)
        why = _unsafe_dir(base)
    except OSError as exc:
        why = f"cannot be created ({exc.strerror or exc.__class__.__name__})"
    if why is None:
        result = base
    else:
        note(f"cache directory {base} {why}; not used (rules compiled in memory)")
    _state[key] = result if result is not None else False
    return result


def _key(directory: Path) -> bytes | None:
    """The per-user HMAC key, created once (0600, never through a symlink)."""
    path = directory / _KEY_NAME
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            tmp = directory / f".key.{os.getpid()}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(os.urandom(32))
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, path)  # atomic and never replaces a key another process made first
                except FileExistsError:
                    pass
            except OSError:
                return None
            finally:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            continue
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read(64)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077 or len(data) != 32:
            note(f"cache key {path} is not a private 32-byte file of yours; caches not used")
            return None
        return data
    return None


def _tag(key: bytes, kind: str, version: str, source: str, payload: bytes) -> str:
    head = f"{kind}\0{version}\0{source}\0{len(payload)}\0".encode()
    return hmac.new(key, head + payload, hashlib.sha256).hexdigest()


def read(name: str, kind: str, source: str) -> bytes | None:
    """The payload of cache file ``name`` if it is intact, ours, of this version and built from ``source``.

    A missing file returns None quietly; any other failure returns None with a note naming the file.
    """
    from scanner import __version__

    directory = cache_dir()
    if directory is None:
        return None
    path = directory / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        note(f"cache file {path} cannot be opened ({exc.strerror or exc.__class__.__name__}); ignored and rebuilt")
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            note(f"cache file {path} is not a private regular file of yours; ignored and rebuilt")
            return None
        data = fh.read(_MAX_FILE + 1)
    why = _check(directory, data, kind, __version__, source)
    if isinstance(why, str):
        note(f"cache file {path} {why}; ignored and rebuilt")
        return None
    return why


def _check(directory: Path, data: bytes, kind: str, version: str, source: str) -> bytes | str:
    if len(data) > _MAX_FILE:
        return "is too large"
    if not data.startswith(_MAGIC):
        return "is not a credsweep cache file"
    nl = data.find(b"\n", len(_MAGIC))
    if nl < 0:
        return "is truncated"
    try:
        head = json.loads(data[len(_MAGIC) : nl])
    except ValueError:
        return "has an unreadable header"
    if not isinstance(head, dict) or not all(isinstance(head.get(k), str) for k in ("kind", "version", "source",
                                                                                      "tag")):
        return "has an unreadable header"
    if not isinstance(head.get("size"), int):
        return "has an unreadable header"
    payload = data[nl + 1 :]
    if len(payload) != head["size"]:
        return "is truncated"
    key = _key(directory)
    if key is None:
        return "cannot be checked (no cache key)"
    if not hmac.compare_digest(_tag(key, head["kind"], head["version"], head["source"], payload), head["tag"]):
        return "was changed or made elsewhere (integrity tag does not match)"
    if head["kind"] != kind or head["version"] != version or head["source"] != source:
        return "was built by another credsweep version or from other input"
    return payload


def write(name: str, kind: str, source: str, payload: bytes) -> None:
    """Write a tagged cache file atomically; a failure only costs the rebuild next time."""
    import tempfile

    from scanner import __version__

    directory = cache_dir()
    if directory is None:
        return
    key = _key(directory)
    if key is None:
        return
    head = json.dumps({"kind": kind, "version": __version__, "source": source, "size": len(payload),
                       "tag": _tag(key, kind, __version__, source, payload)}, sort_keys=True).encode()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC + head + b"\n" + payload)
            os.replace(tmp, directory / name)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass

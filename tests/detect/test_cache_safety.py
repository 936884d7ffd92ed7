"""Issue 14, attack 4: nothing in the cache directory runs code, drops a rule or is used unchecked; --output is
written atomically. Real CLI in a subprocess, real files, a fresh cache directory per test."""

from __future__ import annotations

import json
import os
import pickle
import re
import resource
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import CREDSWEEP, cli, fake_key, record_file, record_output
from support.toolcheck import need_module

ROOT = Path(__file__).resolve().parents[2]


def _rule_count(env: dict[str, str]) -> int:
    res = cli("rules", "list", env=env)
    assert res.rc == 0, res.err
    m = re.search(r"^(\d+) rule\(s\)$", res.out, re.M)
    assert m, res.out
    return int(m.group(1))


@pytest.fixture
def cache(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    d = tmp_path / "cache"
    return d, {"CREDSWEEP_CACHE_DIR": str(d)}


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, str]:
    key = fake_key("openai.project-key")
    t = tmp_path / "tree"
    t.mkdir()
    (t / "app.py").write_text(f'OPENAI_API_KEY = "{key}"\n', encoding="utf-8")
    return t, key


def _scan_json(tree: Path, env: dict[str, str], *extra: str) -> tuple[dict, str]:
    res = cli("scan", "files", str(tree), "--format", "json", *extra, env=env)
    assert res.rc == 1, res.err
    return json.loads(res.out), res.err


def _rule_ids(doc: dict) -> set[str]:
    return {f["rule_id"] for f in doc["findings"]}


class _Marker:
    """Unpickling this creates the marker file (what an attacker's payload would do, harmlessly)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (open, (str(self.path), "w"))


def test_nothing_in_scanner_can_load_code_from_data() -> None:
    banned = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|marshal|shelve|dill|joblib|cloudpickle)\b"
                        r"|\b(eval|exec)\s*\(|yaml\.(unsafe_load|load_all|full_load)\b|Loader\s*=\s*yaml\.(Full)?Loader\b"
                        r"|UnsafeLoader|\bpickle\.", re.M)
    offenders = []
    for path in sorted((ROOT / "scanner").rglob("*.py")):
        for m in banned.finditer(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}")
    assert offenders == []


def test_planted_pickle_runs_nothing_and_drops_no_rule(cache, tree, tmp_path: Path) -> None:
    cdir, env = cache
    t, key = tree
    count = _rule_count(env)  # builds the caches in a fresh directory
    _scan_json(t, env)
    built = sorted(p.name for p in cdir.iterdir())
    assert any(n.startswith("rules-") and n.endswith(".json") for n in built), built
    marker = tmp_path / "PWNED"
    evil = pickle.dumps(_Marker(marker))
    for p in cdir.iterdir():
        if p.name != "key":
            p.write_bytes(evil)
    for old in ("rules-0123456789abcdef01234567.pickle", "hs-0123456789abcdef01234567.db"):
        (cdir / old).write_bytes(evil)
    res = cli("rules", "list", env=env)
    assert res.rc == 0
    assert f"{count} rule(s)" in res.out
    assert "is not a credsweep cache file; ignored and rebuilt" in res.err, res.err
    assert not marker.exists()
    for p in cdir.glob("hs-*"):
        p.write_bytes(evil)  # `rules list` rebuilt only the rule cache; a scan reads the Hyperscan files
    doc, err = _scan_json(t, env)
    assert not marker.exists()
    assert "openai.project-key" in _rule_ids(doc)
    if any(cdir.glob("hs-*.hsdb")):
        assert ".hsdb is not a credsweep cache file; ignored and rebuilt" in err, err
    assert key not in err
    # the rebuilt cache is good: the next run uses it and prints no note
    res = cli("scan", "files", str(t), "--format", "json", env=env)
    assert res.rc == 1 and "note:" not in res.err, res.err


def test_tampered_rule_cache_is_ignored_and_rebuilt(cache, tree) -> None:
    cdir, env = cache
    t, _ = tree
    count = _rule_count(env)
    (rules_file,) = cdir.glob("rules-*.json")
    data = rules_file.read_bytes()
    head, payload = data.split(b"\n", 2)[:2], data.split(b"\n", 2)[2]
    doc = json.loads(payload)
    kept = [raw for raw in doc if raw[0]["id"] != "openai.project-key"]  # drop one rule, keep the header
    assert len(kept) == len(doc) - 1
    rules_file.write_bytes(b"\n".join(head) + b"\n" + json.dumps(kept, separators=(",", ":")).encode())
    res = cli("rules", "list", env=env)
    assert res.rc == 0
    assert re.search(r"cache file \S+rules-\S+\.json (is truncated|was changed or made elsewhere)", res.err), res.err
    assert f"{count} rule(s)" in res.out
    doc2, _ = _scan_json(t, env)
    assert "openai.project-key" in _rule_ids(doc2)


def test_foreign_cache_with_a_valid_looking_tag_is_ignored(cache, tree, tmp_path: Path) -> None:
    cdir, env = cache
    t, _ = tree
    _rule_count(env)
    other = tmp_path / "other-cache"
    other.mkdir(mode=0o700)
    for p in cdir.iterdir():
        if p.name != "key":
            (other / p.name).write_bytes(p.read_bytes())  # copied from another user/machine: another key
    res = cli("rules", "list", env={"CREDSWEEP_CACHE_DIR": str(other)})
    assert res.rc == 0
    assert "was changed or made elsewhere (integrity tag does not match); ignored and rebuilt" in res.err
    doc, _ = _scan_json(t, {"CREDSWEEP_CACHE_DIR": str(other)})
    assert "openai.project-key" in _rule_ids(doc)


def test_truncated_hyperscan_db_is_rebuilt(cache, tree) -> None:
    need_module("hyperscan", "the hyperscan wheel is not installed")
    cdir, env = cache
    t, _ = tree
    _scan_json(t, env, "--engine", "hyperscan")
    (db,) = cdir.glob("hs-*.hsdb")
    full = db.read_bytes()
    db.write_bytes(full[: len(full) // 2])
    doc, err = _scan_json(t, env, "--engine", "hyperscan")
    assert "openai.project-key" in _rule_ids(doc)
    assert f"cache file {db} is truncated; ignored and rebuilt" in err
    assert db.stat().st_size == len(full)
    res = cli("scan", "files", str(t), "--engine", "hyperscan", env=env)
    assert res.rc == 1 and "note:" not in res.err, res.err


def test_bad_prefilter_sidecar_is_not_used(cache, tree) -> None:
    need_module("hyperscan", "the hyperscan wheel is not installed")
    cdir, env = cache
    t, _ = tree
    _scan_json(t, env, "--engine", "hyperscan")
    (side,) = cdir.glob("hs-*.prefilter.json")
    side.write_bytes(side.read_bytes() + b" ")
    doc, err = _scan_json(t, env, "--engine", "hyperscan")
    assert "openai.project-key" in _rule_ids(doc)
    assert f"cache file {side}" in err and "ignored and rebuilt" in err


@pytest.mark.parametrize("how", ["world-writable", "group-writable", "symlink"])
def test_unsafe_cache_dir_is_not_used(tmp_path: Path, tree, how: str) -> None:
    t, _ = tree
    real = tmp_path / "real-cache"
    real.mkdir()
    if how == "symlink":
        os.chmod(real, 0o700)
        cdir = tmp_path / "link-cache"
        cdir.symlink_to(real)
        why = "is a symbolic link"
    else:
        cdir = real
        os.chmod(real, 0o777 if how == "world-writable" else 0o770)
        why = "is writable by group or others"
    env = {"CREDSWEEP_CACHE_DIR": str(cdir)}
    doc, err = _scan_json(t, env)
    assert "openai.project-key" in _rule_ids(doc)
    assert f"cache directory {cdir} {why}; not used (rules compiled in memory)" in err
    assert err.count("\n") <= 3, err
    assert list(real.iterdir()) == []  # nothing read or written there


def test_cache_dir_is_created_private(cache, tree) -> None:
    cdir, env = cache
    t, _ = tree
    _scan_json(t, env)
    assert stat.S_IMODE(cdir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cdir / "key").stat().st_mode) == 0o600
    for p in cdir.iterdir():
        assert not stat.S_IMODE(p.stat().st_mode) & 0o077, p


def test_symlinked_cache_file_is_not_followed(cache, tree, tmp_path: Path) -> None:
    cdir, env = cache
    t, _ = tree
    _rule_count(env)
    (rules_file,) = cdir.glob("rules-*.json")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(rules_file.read_bytes())
    rules_file.unlink()
    rules_file.symlink_to(elsewhere)
    res = cli("rules", "list", env=env)
    assert res.rc == 0
    assert f"cache file {rules_file} cannot be opened" in res.err, res.err


# --------------------------------------------------------------------------- --output is atomic


def test_output_replaces_an_existing_file(tmp_path: Path, tree, cache) -> None:
    t, _ = tree
    _, env = cache
    out = tmp_path / "out" / "result.json"
    out.parent.mkdir()
    out.write_text("old result\n", encoding="utf-8")
    os.chmod(out, 0o640)
    res = cli("scan", "files", str(t), "--format", "json", "-o", str(out), env=env)
    assert res.rc == 1, res.err
    record_file(out)
    assert json.loads(out.read_text(encoding="utf-8"))["findings"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in out.parent.iterdir()) == ["result.json"]  # no temporary file left


def test_failed_write_leaves_the_old_file_intact(tmp_path: Path, tree, cache) -> None:
    """A write that fails half-way (file-size limit: works as root too) leaves the old file as it was."""
    t, _ = tree
    _, env = cache
    cli("rules", "list", env=env)  # caches built before the limit applies
    out = tmp_path / "result.json"
    old = "previous result, must survive\n"
    out.write_text(old, encoding="utf-8")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    # not measured by coverage: its own data file could not be written under the size limit either
    base = {k: v for k, v in os.environ.items() if k not in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")}
    proc = subprocess.run([*CREDSWEEP, "scan", "files", str(t), "--format", "json", "-o", str(out)],
                          env={**base, "NO_COLOR": "1", **env}, capture_output=True, text=True,
                          preexec_fn=limit, timeout=300, check=False)
    record_output(proc.stdout, "stdout")
    record_output(proc.stderr, "stderr")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"credsweep: error: cannot write {out}:") or f"cannot write {out}:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_text(encoding="utf-8") == old
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".result")) == []


@pytest.mark.skipif(os.getuid() == 0, reason="root writes into read-only directories")  # platform, not a tool
def test_read_only_output_dir_is_a_clear_error(tmp_path: Path, tree, cache) -> None:
    t, _ = tree
    _, env = cache
    d = tmp_path / "ro"
    d.mkdir()
    out = d / "result.json"
    out.write_text("old\n", encoding="utf-8")
    os.chmod(d, 0o555)
    try:
        res = cli("scan", "files", str(t), "--format", "json", "-o", str(out), env=env)
    finally:
        os.chmod(d, 0o755)
    assert res.rc == 2
    assert f"cannot write {out}" in res.err and "Traceback" not in res.err
    assert out.read_text(encoding="utf-8") == "old\n"

"""Issue 14, "bounded and honest about limits": binary files (printable runs scanned, byte offsets), archives,
values still encoded at the decode-depth limit and git submodules are each listed; --recurse-submodules follows
initialised submodules. Real CLI, real files, real git repositories (a real `git submodule add`)."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import cli, fake_key, record_file
from support.gitrepo import Repo, scan_json

RULE = "openai.project-key"


def _files_json(target: Path, *extra: str) -> tuple[int, dict]:
    res = cli("scan", "files", target, "--format", "json", *extra)
    assert "Traceback" not in res.err
    return res.rc, json.loads(res.out)


def _skips(doc: dict) -> dict[str, tuple[str, str]]:
    return {s["target"]: (s["reason"], s["detail"]) for s in doc["skipped"]}


def test_key_in_a_printable_run_of_a_binary_file_is_reported_with_its_byte_offset(tmp_path: Path) -> None:
    key = fake_key(RULE)
    head = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) + b"\x00\x00"
    (tmp_path / "tool.bin").write_bytes(head + b"api_key=" + key.encode() + b"\x00\x01tail\x00")
    rc, doc = _files_json(tmp_path)
    assert rc == 1
    [f] = doc["findings"]
    assert f["rule_id"] == RULE
    [loc] = f["locations"]
    assert loc["path"] == "tool.bin" and loc["line"] is None
    assert loc["offset"] == len(head) + len(b"api_key=")
    reason, detail = _skips(doc)["tool.bin"]
    assert reason == "binary" and "only printable runs" in detail
    text = cli("scan", "files", tmp_path)
    assert text.rc == 1 and f"tool.bin (byte {len(head) + 8})" in text.out
    assert key not in text.out
    from support.schema_util import sarif_errors

    out = tmp_path.parent / "binary.sarif"
    res = cli("scan", "files", tmp_path, "--format", "sarif", "-o", out)
    record_file(out)
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert res.rc == 1 and sarif_errors(sarif) == []
    region = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["byteOffset"] == len(head) + 8


def test_binary_runs_use_only_high_confidence_rules_and_short_runs_are_ignored(tmp_path: Path) -> None:
    key = fake_key(RULE)
    # the key split by a NUL every 6 bytes: no printable run of 8+ holds it
    chopped = b"\x00".join(key.encode()[i : i + 6] for i in range(0, len(key), 6))
    (tmp_path / "split.bin").write_bytes(b"\x00\x01" + chopped + b"\x00")
    # a generic password assignment in a binary is not reported (context rule, not high-confidence)
    (tmp_path / "generic.bin").write_bytes(b"\x00\x00password = 'Xq7#mPz9!vLk2@wR'\x00")
    rc, doc = _files_json(tmp_path)
    assert rc == 0, doc["findings"]
    assert doc["findings"] == []
    assert {t for t, (r, _) in _skips(doc).items() if r == "binary"} == {"split.bin", "generic.bin"}


def test_hostile_binary_stays_linear(tmp_path: Path) -> None:
    """8 MB of alternating short runs and NULs, plus one huge run: scanned quickly, nothing reported."""
    (tmp_path / "hostile.bin").write_bytes((b"sk-proj-\x00" * 500_000) + b"A" * 4_000_000 + b"\x00")
    res = cli("scan", "files", tmp_path, "--format", "json", timeout=120)
    assert res.rc == 0, res.err
    assert json.loads(res.out)["findings"] == []


@pytest.mark.parametrize("name,kind", [("bundle.zip", "zip"), ("lib.jar", "jar"), ("pkg-1.0-py3-none-any.whl", "wheel"),
                                       ("backup.tar", "tar"), ("dump.sql.gz", "gzip")])
def test_archives_are_named_as_not_scanned(tmp_path: Path, name: str, kind: str) -> None:
    key = fake_key(RULE)
    member = f"OPENAI_API_KEY={key}\n".encode()
    path = tmp_path / name
    if kind in ("zip", "jar", "wheel"):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr("app/.env", member)
    elif kind == "tar":
        with tarfile.open(path, "w") as t:
            info = tarfile.TarInfo(".env")
            info.size = len(member)
            t.addfile(info, io.BytesIO(member))
    else:
        import gzip

        path.write_bytes(gzip.compress(member))
    (tmp_path / "README.md").write_text("a tree of only archives scans nothing (exit 4)\n", encoding="utf-8")
    rc, doc = _files_json(tmp_path)
    assert rc == 0
    assert _skips(doc)[name] == ("archive", f"{kind} archive: members are not extracted or scanned")
    text = cli("scan", "files", tmp_path)
    assert text.rc == 0 and "1 archive" in text.out


def test_value_still_encoded_at_the_decode_depth_limit_is_listed(tmp_path: Path) -> None:
    key = fake_key(RULE)
    shallow = base64.b64encode(key.encode()).decode()
    deep = key.encode()
    for _ in range(5):
        deep = base64.b64encode(deep)
    (tmp_path / "ok.yaml").write_text(f"token: {shallow}\n", encoding="utf-8")
    (tmp_path / "deep.yaml").write_text(f"token: {deep.decode()}\n", encoding="utf-8")
    rc, doc = _files_json(tmp_path)
    assert rc == 1
    assert {loc["path"] for f in doc["findings"] if f["rule_id"] == RULE for loc in f["locations"]} == {"ok.yaml"}
    skips = _skips(doc)
    assert skips["deep.yaml"][0] == "decode-depth-limit"
    assert "1 value(s) still encoded after 3 decoding steps" in skips["deep.yaml"][1]
    assert "ok.yaml" not in skips


def test_binary_blob_in_history_is_scanned_for_printable_runs(tmp_path: Path) -> None:
    key = fake_key(RULE)
    r = Repo(tmp_path / "r")
    r.write("model.bin", b"\x00\x01\x02\x03" + f"OPENAI_API_KEY={key}".encode() + b"\x00")
    r.write("dist.zip", b"PK\x03\x04" + b"\x00" * 30)
    r.commit("binaries", 1)
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    [f] = doc["findings"]
    assert f["rule_id"] == RULE and f["location"]["path"] == "model.bin"
    assert f["location"]["offset"] == 4 + len("OPENAI_API_KEY=")
    skips = {(s["target"], s["reason"]) for s in doc["skipped"]}
    assert ("model.bin", "binary") in skips and ("dist.zip", "archive") in skips


# --------------------------------------------------------------------------- submodules


def _repo_with_submodule(tmp_path: Path) -> tuple[Repo, str]:
    key = fake_key(RULE)
    sub = Repo(tmp_path / "lib")
    sub.write("settings.py", f'OPENAI_API_KEY = "{key}"\n')
    sub.commit("lib with a key", 1)
    top = Repo(tmp_path / "top")
    top.write("README.md", "top\n")
    top.commit("top", 2)
    top.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "vendor/lib")
    top.commit("add submodule", 3)
    return top, key


def test_submodule_is_listed_as_not_followed(tmp_path: Path) -> None:
    top, _ = _repo_with_submodule(tmp_path)
    res, doc = scan_json(top.path)
    assert res.rc == 0, res.err
    assert doc["findings"] == []
    subs = [s for s in doc["skipped"] if s["reason"] == "submodule-not-followed"]
    assert [(s["source"], s["target"]) for s in subs] == [("git", "vendor/lib")]
    text = cli("scan", "repo", top.path)
    assert text.rc == 0 and "submodule" in text.out + text.err


def test_recurse_submodules_finds_the_key_inside(tmp_path: Path) -> None:
    top, key = _repo_with_submodule(tmp_path)
    res, doc = scan_json(top.path, "--recurse-submodules")
    assert res.rc == 1, res.err
    [f] = doc["findings"]
    assert f["rule_id"] == RULE
    assert {loc["path"] for loc in f["locations"]} == {"vendor/lib/settings.py"}
    assert f["git"]["paths"] == ["vendor/lib/settings.py"]
    assert not [s for s in doc["skipped"] if s["reason"] == "submodule-not-followed"]
    text = cli("scan", "repo", top.path, "--recurse-submodules")
    assert text.rc == 1 and "vendor/lib/settings.py" in text.out and key not in text.out
    sarif = top.path.parent / "sub.sarif"
    res = cli("scan", "repo", top.path, "--recurse-submodules", "--format", "sarif", "-o", sarif)
    record_file(sarif)
    assert res.rc == 1 and "vendor/lib/settings.py" in sarif.read_text(encoding="utf-8")


def test_uninitialised_submodule_stays_listed_with_recurse(tmp_path: Path) -> None:
    top, _ = _repo_with_submodule(tmp_path)
    clone = tmp_path / "clone"
    Repo(tmp_path, init=False).git("clone", "-q", str(top.path), str(clone))
    res, doc = scan_json(clone, "--recurse-submodules")
    assert res.rc == 0, res.err
    assert [s["target"] for s in doc["skipped"] if s["reason"] == "submodule-not-followed"] == ["vendor/lib"]


def test_recurse_submodules_with_staged_is_a_usage_error(tmp_path: Path) -> None:
    top, _ = _repo_with_submodule(tmp_path)
    res = cli("scan", "repo", top.path, "--staged", "--recurse-submodules")
    assert res.rc == 2 and "--staged cannot be combined with --recurse-submodules" in res.err

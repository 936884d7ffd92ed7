"""`credsweep scan repo`: real repositories in tmp dirs, exact provenance for each way a secret can live in git."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import cli, fake_key
from support.gitrepo import Repo, commit_info, scan_json
from support.toolcheck import need

KEY_RULE = "anthropic.api-key"


def _line(key: str) -> str:
    return f"ANTHROPIC_API_KEY={key}\n"


def _only(doc: dict) -> dict:
    new = [f for f in doc["findings"] if f["rule_id"] == KEY_RULE]
    assert len(new) == 1, [f["rule_id"] for f in doc["findings"]]
    return new[0]


def test_added_then_edited_away_is_history_only_with_remover(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("app.py", "print('hi')\n")
    c1 = r.commit("init", 1)
    r.write("settings.env", "DEBUG=1\n" + _line(key))
    c2 = r.commit("add settings", 2, author="Bob")
    r.write("settings.env", "DEBUG=1\nANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}\n")
    c3 = r.commit("read key from env", 3)
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    f = _only(doc)
    assert f["git"] == {
        "repo": str(r.path),
        "introduced": commit_info(r, c2, 2, "Bob"),
        "last_seen": commit_info(r, c2, 2, "Bob"),
        "removed_by": commit_info(r, c3, 3),
        "at_head": False,
        "refs": ["refs/heads/main"],
        "paths": ["settings.env"],
        "history_complete": True,
    }
    assert f["location"]["commit"] == c2
    assert (f["location"]["path"], f["location"]["line"], f["location"]["source"]) == ("settings.env", 2, "git")
    assert c1 != c2
    assert doc["stats"]["commits_scanned"] == 3


def test_secret_still_at_head_has_last_seen_at_head(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("a.env", _line(key))
    c1 = r.commit("add", 1)
    r.write("other.txt", "x\n")
    c2 = r.commit("unrelated", 2)
    res, doc = scan_json(r.path)
    assert res.rc == 1
    g = _only(doc)["git"]
    assert g["introduced"]["sha"] == c1 and g["last_seen"]["sha"] == c2
    assert g["at_head"] is True and g["removed_by"] is None
    out = cli("scan", "repo", r.path)
    assert "present at HEAD" in out.out and key not in out.out


def test_deleted_file(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("keep.txt", "k\n")
    r.commit("init", 1)
    r.write("secrets/prod.env", _line(key))
    c2 = r.commit("add prod env", 2)
    r.remove("secrets/prod.env")
    c3 = r.commit("oops, remove", 3)
    res, doc = scan_json(r.path)
    assert res.rc == 1
    f = _only(doc)
    assert f["git"]["introduced"]["sha"] == c2
    assert f["git"]["last_seen"]["sha"] == c2
    assert f["git"]["removed_by"]["sha"] == c3
    assert f["git"]["at_head"] is False
    text = cli("scan", "repo", r.path).out
    assert "in history only" in text and f"removed by {c3[:10]}" in text


def test_only_on_side_branch(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("a.txt", "a\n")
    r.commit("init", 1)
    r.git("checkout", "-q", "-b", "feature")
    r.write("conf.env", _line(key))
    c2 = r.commit("feature work", 2, author="Carol")
    r.git("checkout", "-q", "main")
    r.write("b.txt", "b\n")
    r.commit("main work", 3)
    res, doc = scan_json(r.path)
    g = _only(doc)["git"]
    assert g["introduced"] == commit_info(r, c2, 2, "Carol")
    assert g["last_seen"]["sha"] == c2
    assert g["at_head"] is False and g["removed_by"] is None
    assert g["refs"] == ["refs/heads/feature"]
    # --branch main does not see it; --branch feature does
    res, doc = scan_json(r.path, "--branch", "main")
    assert res.rc == 0 and not [f for f in doc["findings"] if f["rule_id"] == KEY_RULE]
    res, doc = scan_json(r.path, "--branch", "feature")
    g = _only(doc)["git"]
    assert g["refs"] == ["refs/heads/feature"] and g["history_complete"] is False


def test_merged_from_side_branch_then_removed_on_main(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("a.txt", "a\n")
    r.commit("init", 1)
    r.git("checkout", "-q", "-b", "side")
    r.write("side.env", _line(key))
    c_side = r.commit("side adds key", 2)
    r.git("checkout", "-q", "main")
    r.write("m.txt", "m\n")
    r.commit("main moves", 3)
    r.git("merge", "-q", "--no-ff", "-m", "merge side", "side", when=4)
    merge = r.git("rev-parse", "HEAD")
    r.remove("side.env")
    c_rm = r.commit("remove key", 5)
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    f = _only(doc)
    g = f["git"]
    assert g["introduced"]["sha"] == c_side  # not the merge
    assert g["last_seen"]["sha"] == merge
    assert g["removed_by"]["sha"] == c_rm
    assert g["refs"] == ["refs/heads/main", "refs/heads/side"]
    assert [loc["commit"] for loc in f["locations"]] == [c_side]


def test_secret_introduced_by_the_merge_itself(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("conf.env", "A=1\n")
    r.commit("init", 1)
    r.git("checkout", "-q", "-b", "side")
    r.write("conf.env", "A=2\n")
    r.commit("side", 2)
    r.git("checkout", "-q", "main")
    r.write("conf.env", "A=3\n")
    r.commit("main", 3)
    r.git("merge", "-q", "side", check=False, when=4)
    r.write("conf.env", "A=4\n" + _line(key))  # the conflict resolution adds the key ("evil merge")
    r.git("add", "conf.env")
    r.git("commit", "-q", "--no-edit", when=4)
    merge = r.git("rev-parse", "HEAD")
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    g = _only(doc)["git"]
    assert g["introduced"]["sha"] == merge
    assert g["at_head"] is True
    assert g["refs"] == ["refs/heads/main"]


def test_in_a_tag_only(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("a.txt", "a\n")
    r.commit("init", 1)
    r.git("checkout", "-q", "--detach")
    r.write("release.env", _line(key))
    c2 = r.commit("release build", 2)
    r.git("tag", "-a", "v1.0", "-m", "release", when=2)
    r.git("checkout", "-q", "main")
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    g = _only(doc)["git"]
    assert g["introduced"]["sha"] == c2
    assert g["refs"] == ["refs/tags/v1.0"]
    assert g["at_head"] is False


def test_same_blob_in_many_commits_and_paths_is_scanned_once(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("a/one.env", _line(key))
    c1 = r.commit("one", 1)
    for i in range(2, 6):
        r.write(f"noise{i}.txt", f"{i}\n")
        r.commit(f"noise {i}", i)
    r.write("b/two.env", _line(key))  # identical content: the same blob
    c6 = r.commit("copy", 6)
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    f = _only(doc)
    assert doc["stats"]["blobs_scanned"] == 5  # one.env and two.env share one blob, plus 4 noise blobs
    assert f["git"]["paths"] == ["a/one.env", "b/two.env"]
    assert [(loc["path"], loc["commit"]) for loc in f["locations"]] == [("a/one.env", c1), ("b/two.env", c6)]
    res, par = scan_json(r.path, "--jobs", "2")  # two forked workers, one cat-file each: the same result
    assert res.rc == 1, res.err
    assert par["stats"]["blobs_scanned"] == 5
    assert [f["fingerprint"] for f in par["findings"]] == [f["fingerprint"] for f in doc["findings"]]
    assert par["findings"][0]["git"] == doc["findings"][0]["git"]


def test_bare_repository(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "src")
    r.write("k.env", _line(key))
    c1 = r.commit("add", 1)
    r.remove("k.env")
    c2 = r.commit("rm", 2)
    bare = tmp_path / "bare.git"
    r.git("clone", "-q", "--bare", str(r.path), str(bare))
    res, doc = scan_json(bare)
    assert res.rc == 1, res.err
    g = _only(doc)["git"]
    assert (g["introduced"]["sha"], g["removed_by"]["sha"], g["at_head"]) == (c1, c2, False)
    assert g["repo"] == str(bare)
    res, doc = scan_json(bare, "--no-history")
    assert res.rc == 0 and doc["stats"]["commits_scanned"] == 0


def test_shallow_clone_says_history_is_incomplete(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "src")
    r.write("k.env", _line(key))
    r.commit("add", 1)
    r.write("x.txt", "x\n")
    r.commit("two", 2)
    r.write("y.txt", "y\n")
    c3 = r.commit("three", 3)
    clone = tmp_path / "shallow"
    r.git("clone", "-q", "--depth", "1", f"file://{r.path}", str(clone))
    res, doc = scan_json(clone)
    assert res.rc == 1, res.err
    g = _only(doc)["git"]
    assert g["history_complete"] is False
    assert g["introduced"]["sha"] == c3  # the shallow boundary: the oldest commit present
    assert any("shallow" in n for n in doc["notes"])


def test_empty_repository(tmp_path: Path) -> None:
    r = Repo(tmp_path / "empty")
    res, doc = scan_json(r.path)
    assert res.rc == 0, res.err
    assert doc["findings"] == [] and any("no commits" in n for n in doc["notes"])
    bare = Repo(tmp_path / "empty.git", bare=True)
    res = cli("scan", "repo", bare.path)
    assert res.rc == 0 and "Traceback" not in res.err


def test_missing_object_is_skipped_and_reported(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("good.env", _line(key))
    r.write("lost.txt", "this blob will be deleted\n")
    r.commit("add", 1)
    blob = r.git("rev-parse", "HEAD:lost.txt")
    obj = r.path / ".git" / "objects" / blob[:2] / blob[2:]
    obj.chmod(0o644)
    obj.unlink()
    r.write("lost.txt", "changed in the working tree\n")  # keep status from needing the lost blob's content
    res, doc = scan_json(r.path)
    assert res.rc == 1 and "Traceback" not in res.err
    assert _only(doc)["git"]["introduced"]["sha"] == r.git("rev-parse", "HEAD")
    assert [(s["reason"], s["target"]) for s in doc["skipped"] if s["source"] == "git"] == [
        ("missing-object", "lost.txt")]


def test_corrupt_object_is_skipped(tmp_path: Path) -> None:
    r = Repo(tmp_path / "r")
    r.write("bad.txt", "soon corrupt\n")
    r.commit("add", 1)
    blob = r.git("rev-parse", "HEAD:bad.txt")
    obj = r.path / ".git" / "objects" / blob[:2] / blob[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage, not zlib")
    res, doc = scan_json(r.path, "--no-structure")
    assert res.rc == 0 and "Traceback" not in res.err
    assert [s["reason"] for s in doc["skipped"] if s["source"] == "git"] == ["missing-object"]


def test_non_utf8_path_and_binary_blob(tmp_path: Path) -> None:
    if os.uname().sysname == "Darwin":
        pytest.skip("APFS refuses non-UTF-8 file names")
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write(b"caf\xe9.env", _line(key))
    r.write("blob.bin", b"\x00\x01\x02" + _line(key).encode() + b"\x00")
    r.commit("odd names and binaries", 1)
    res, doc = scan_json(r.path)
    assert res.rc == 1 and "Traceback" not in res.err
    f = _only(doc)
    assert f["git"]["paths"] == ["blob.bin", "caf\\xe9.env"]  # the binary's printable run is scanned too
    assert [(s["reason"], s["target"]) for s in doc["skipped"]] == [("binary", "blob.bin")]
    text = cli("scan", "repo", r.path)
    assert text.rc == 1 and "caf\\xe9.env:1" in text.out


def test_huge_blob_is_streamed(tmp_path: Path) -> None:
    key = fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("big.txt", ("filler line\n" * 200_000) + _line(key))
    r.commit("big", 1)
    res, doc = scan_json(r.path, "--max-file-mb", "1")
    assert res.rc == 1, res.err
    f = _only(doc)
    assert f["location"]["line"] == 200_001
    assert [s["reason"] for s in doc["skipped"]] == ["streamed"]


def test_working_tree_untracked_and_modified_without_double_reporting(tmp_path: Path) -> None:
    committed, untracked, modified = fake_key(KEY_RULE), fake_key(KEY_RULE), fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("committed.env", _line(committed))
    r.write("tracked.py", "x = 1\n")
    r.write(".gitignore", "ignored.env\n")
    c1 = r.commit("init", 1)
    r.write("new.env", _line(untracked))
    r.write("tracked.py", "x = 1\n" + _line(modified))
    r.write("ignored.env", _line(fake_key(KEY_RULE)))
    res, doc = scan_json(r.path)
    assert res.rc == 1, res.err
    found = sorted(((f["location"]["source"], f["location"]["path"], f["location"]["commit"]) for f in doc["findings"]
                    if f["rule_id"] == KEY_RULE), key=str)
    assert found == sorted([("git", "committed.env", c1), ("file", "new.env", None), ("file", "tracked.py", None)],
                           key=str)
    committed_f = next(f for f in doc["findings"] if f["location"]["path"] == "committed.env")
    assert len(committed_f["locations"]) == 1  # HEAD's file is not scanned again from the working tree


def test_no_history_scans_the_working_tree_only(tmp_path: Path) -> None:
    old, now = fake_key(KEY_RULE), fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("a.env", _line(old))
    r.commit("old", 1)
    r.write("a.env", _line(now))
    r.commit("new", 2)
    res, doc = scan_json(r.path, "--no-history")
    assert res.rc == 1, res.err
    assert [(f["location"]["source"], f["git"]) for f in doc["findings"]] == [("file", None)]
    assert doc["stats"]["commits_scanned"] == 0


def test_since_and_max_commits_narrow_history(tmp_path: Path) -> None:
    old, new = fake_key(KEY_RULE), fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("old.env", _line(old))
    r.commit("old", 1)
    r.remove("old.env")
    r.commit("rm", 2)
    r.write("new.env", _line(new))
    c3 = r.commit("new", 30)
    for args in (("--since", "2024-01-15"), ("--max-commits", "1")):
        res, doc = scan_json(r.path, *args)
        assert res.rc == 1, res.err
        assert [f["location"]["commit"] for f in doc["findings"]] == [c3], args
        assert doc["stats"]["commits_scanned"] == 1
        assert doc["findings"][0]["git"]["history_complete"] is False


def test_range_and_pre_push_scan_only_pushed_commits(tmp_path: Path) -> None:
    old, new = fake_key(KEY_RULE), fake_key(KEY_RULE)
    r = Repo(tmp_path / "r")
    r.write("old.env", _line(old))
    c1 = r.commit("already pushed", 1)
    r.write("new.env", _line(new))
    c2 = r.commit("to push", 2)
    res, doc = scan_json(r.path, "--range", f"{c1}..{c2}")
    assert res.rc == 1
    assert [f["location"]["commit"] for f in doc["findings"]] == [c2]
    stdin = f"refs/heads/main {c2} refs/heads/main {c1}\n"
    res, doc = scan_json(r.path, "--pre-push", input=stdin)
    assert res.rc == 1 and [f["location"]["commit"] for f in doc["findings"]] == [c2]
    # a new branch: everything not on a remote-tracking ref (here: all of it)
    res, doc = scan_json(r.path, "--pre-push", input=f"refs/heads/x {c2} refs/heads/x {'0' * 40}\n")
    assert len(doc["findings"]) == 2
    # a deletion pushes nothing
    res = cli("scan", "repo", r.path, "--pre-push", input=f"(delete) {'0' * 40} refs/heads/x {c2}\n")
    assert res.rc == 0 and "nothing to push" in res.err
    clean = cli("scan", "repo", r.path, "--range", f"{c2}..{c2}")
    assert clean.rc == 0


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    res = cli("scan", "repo", tmp_path / "plain")
    assert res.rc == 4
    assert "not a git repository" in res.err and "Traceback" not in res.err
    res = cli("scan", "repo", tmp_path / "missing")
    assert res.rc == 4 and "no such file" in res.err
    r = Repo(tmp_path / "r")
    r.write("a", "a\n")
    r.commit("a", 1)
    res = cli("scan", "repo", r.path, "--branch", "nope")
    assert res.rc == 4 and "--branch nope" in res.err


def test_submodule_is_not_followed(tmp_path: Path) -> None:
    need(shutil.which("git"), "git is not installed")
    sub = Repo(tmp_path / "sub")
    sub.write("s.txt", "s\n")
    sub.commit("s", 1)
    r = Repo(tmp_path / "r")
    r.write("a.txt", "a\n")
    r.commit("a", 1)
    r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.path), "vendor/sub")
    r.commit("add submodule", 2)
    res, doc = scan_json(r.path)
    assert res.rc == 0
    assert any("submodule" in n for n in doc["notes"])

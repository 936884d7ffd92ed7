"""``scan repos``: many repositories from a list, bare mirrors, incremental state, shards merged by ``report``."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import cli, fake_key, record_file
from support.gitrepo import Repo
from support.toolcheck import need_module

REPO_ROOT = Path(__file__).resolve().parents[3]


def _org(tmp_path: Path, n: int = 12) -> tuple[list[str], str, Path]:
    """n small repositories; repository 5 had an OpenAI key in a commit that a later commit removed. Every third
    one is given as a file:// URL, so it is mirrored into the cache; the others are local paths."""
    key = fake_key("openai.project-key")
    lines = []
    for i in range(n):
        repo = Repo(tmp_path / "org" / f"svc-{i:02d}")
        repo.write("app.py", f"PORT = {8000 + i}\n")
        repo.write("README.md", f"# service {i}\n")
        repo.commit("init", when=1)
        if i == 5:
            repo.write("settings.py", f'OPENAI_API_KEY = "{key}"\n')
            repo.commit("settings", when=2)
            repo.remove("settings.py")
            repo.commit("drop the key", when=3)
        lines.append(f"file://{repo.path}" if i % 3 == 0 else str(repo.path))
    listing = tmp_path / "repos.txt"
    listing.write_text("# the organisation\n" + "\n".join(lines) + "\n\n", encoding="utf-8")
    return lines, key, listing


def _scan(tmp_path: Path, *args: str | Path, name: str = "out.json") -> tuple[int, dict[str, Any], str]:
    out = tmp_path / name
    r = cli("scan", "repos", "--cache-dir", tmp_path / "mirrors", *args, "--format", "json", "-o", out)
    record_file(out) if out.is_file() else None
    return r.rc, json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}, r.err


def _fingerprints(doc: dict[str, Any]) -> list[str]:
    return sorted(f["fingerprint"] for f in doc["findings"])


def test_a_list_of_repositories_with_a_key_only_in_history(tmp_path: Path) -> None:
    lines, _, listing = _org(tmp_path)
    rc, doc, err = _scan(tmp_path, "--from-file", listing)
    assert rc == 1, err
    [f] = doc["findings"]
    assert f["rule_id"] == "openai.project-key"
    assert f["git"]["at_head"] is False and f["git"]["removed_by"] is not None
    assert f["git"]["repo"] == lines[5]  # the name given in the list, not the mirror's path in the cache
    assert doc["scan"]["kind"] == "repos" and len(doc["scan"]["targets"]) == 12
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "mirrors").iterdir()) == ["svc"] * 4  # 0, 3, 6, 9


def test_a_rerun_with_state_reads_only_blobs_with_hits_and_reports_the_same(tmp_path: Path) -> None:
    _, _, listing = _org(tmp_path)
    state = tmp_path / "state.db"
    rc1, first, err = _scan(tmp_path, "--from-file", listing, "--state", state, name="first.json")
    assert rc1 == 1, err
    rc2, again, err = _scan(tmp_path, "--from-file", listing, "--state", state, name="again.json")
    assert rc2 == 1, err
    assert _fingerprints(again) == _fingerprints(first)
    assert again["findings"][0]["git"] == first["findings"][0]["git"]
    assert first["stats"]["blobs_scanned"] >= 25
    assert again["stats"]["blobs_scanned"] == 1  # only the blob holding the key is read again
    [note] = [n for n in again["notes"] if n.startswith("state ")]
    assert "4 mirrored repositor(y/ies) unchanged since a clean scan were not fetched or walked" in note  # 0, 3, 6, 9
    assert "already scanned clean" in note
    with sqlite3.connect(state) as db:  # the state holds blob ids and repository names, never a value
        dump = "\n".join(db.iterdump())
    assert "sk-proj-" not in dump and "T3BlbkFJ" not in dump
    # new rules (an extra rule folder changes the rules version): every blob is scanned again
    extra = tmp_path / "extra-rules"
    extra.mkdir()
    (extra / "acme.yaml").write_text(
        "rules:\n  - id: acme.token\n    name: Acme token\n    provider: acme\n    category: saas\n"
        "    kind: api-key\n    pattern: 'acme_([a-z0-9]{32})'\n    secret_group: 1\n    keywords: [acme_]\n"
        "    severity: high\n    confidence: high\n    description: Acme API token.\n"
        "    remediation: [Rotate it.]\n    examples: ['t = \"acme_[[{{hex:32}}]]\"']\n"
        "    negative_examples: ['acme_short']\n", encoding="utf-8")
    rc3, third, err = _scan(tmp_path, "--from-file", listing, "--state", state, "--rules", extra, name="third.json")
    assert rc3 == 1, err
    assert third["stats"]["blobs_scanned"] == first["stats"]["blobs_scanned"]


def test_an_unchanged_mirror_is_not_fetched_and_a_moved_one_is(tmp_path: Path) -> None:
    """The rerun asks each mirror's remote for its refs (ls-remote) and fetches only where they moved: a key pushed
    after a clean scan is found, and the mirrors whose refs did not move are not fetched at all."""
    _, _, listing = _org(tmp_path)
    state = tmp_path / "state.db"
    rc1, _, err = _scan(tmp_path, "--from-file", listing, "--state", state, name="first.json")
    assert rc1 == 1, err
    mirrors = sorted((tmp_path / "mirrors").iterdir())
    assert len(mirrors) == 4 and not any((m / "FETCH_HEAD").exists() for m in mirrors)  # cloned, never fetched
    rc2, _, err = _scan(tmp_path, "--from-file", listing, "--state", state, name="again.json")
    assert rc2 == 1, err
    assert not any((m / "FETCH_HEAD").exists() for m in mirrors)  # refs unchanged: no fetch
    key = fake_key("anthropic.api-key")
    moved = Repo(tmp_path / "org" / "svc-03")  # mirrored (every third repository), clean so far
    moved.write("deploy.env", f"ANTHROPIC_API_KEY={key}\n")
    moved.commit("deploy settings", when=4)
    rc3, third, err = _scan(tmp_path, "--from-file", listing, "--state", state, name="third.json")
    assert rc3 == 1, err
    assert sorted(f["rule_id"] for f in third["findings"]) == ["anthropic.api-key", "openai.project-key"]
    assert [m.name.split("-")[1] for m in mirrors if (m / "FETCH_HEAD").exists()] == ["03"]
    rc4, fourth, err = _scan(tmp_path, "--from-file", listing, "--state", state, name="fourth.json")
    assert rc4 == 1, err
    assert _fingerprints(fourth) == _fingerprints(third)  # a repository with a finding is walked every time


def test_three_shards_merged_by_report_give_the_single_run(tmp_path: Path) -> None:
    _, _, listing = _org(tmp_path)
    rc, single, err = _scan(tmp_path, "--from-file", listing, name="single.json")
    assert rc == 1, err
    outs, targets = [], []
    for i in (1, 2, 3):
        rc_i, doc, err = _scan(tmp_path, "--from-file", listing, "--shard", f"{i}/3", name=f"shard-{i}.json")
        assert rc_i in (0, 1), err
        outs.append(tmp_path / f"shard-{i}.json")
        targets += doc["scan"]["targets"]
    assert sorted(targets) == sorted(single["scan"]["targets"])  # every repository in exactly one shard
    merged_out = tmp_path / "merged.json"
    r = cli("report", *outs, "--format", "json", "-o", merged_out)
    assert r.rc == 0, r.err
    record_file(merged_out)
    merged = json.loads(merged_out.read_text(encoding="utf-8"))
    assert _fingerprints(merged) == _fingerprints(single)
    sarif = tmp_path / "merged.sarif"
    assert cli("report", *outs, "--format", "sarif", "-o", sarif).rc == 0
    record_file(sarif)
    assert len(json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]) == 1


def test_a_failing_repository_is_listed_and_the_others_finish(tmp_path: Path) -> None:
    ok = Repo(tmp_path / "ok")
    ok.write("a.py", "A = 1\n")
    ok.commit("init", when=1)
    listing = tmp_path / "repos.txt"
    listing.write_text(f"{ok.path}\n{tmp_path / 'gone'}\nfile://{tmp_path / 'not-a-repo'}\n", encoding="utf-8")
    (tmp_path / "not-a-repo").mkdir()
    rc, doc, err = _scan(tmp_path, "--from-file", listing, "--clone-timeout", "60")
    assert rc == 5, err  # partial: two repositories could not be scanned, the third was
    failed = {s["target"]: s for s in doc["skipped"] if s["reason"] == "failed"}
    assert set(failed) == {str(tmp_path / "gone"), str(tmp_path / "not-a-repo")}
    assert "Traceback" not in err and err.count("credsweep: warning:") == 2
    rc_all, _, err = _scan(tmp_path, tmp_path / "gone", name="none.json")
    assert rc_all == 4, err  # nothing could be scanned


def test_credentials_in_a_url_are_refused_and_never_shown(tmp_path: Path) -> None:
    secret = "hunter2-not-a-real-password"  # credsweep:allow
    url = f"https://alice:{secret}@git.example.invalid/org/repo.git"
    listing = tmp_path / "repos.txt"
    listing.write_text(url + "\n", encoding="utf-8")
    r = cli("scan", "repos", "--from-file", listing, "--cache-dir", tmp_path / "mirrors")
    assert r.rc == 2, r.err
    assert secret not in r.err + r.out and "alice" not in r.err
    assert "carries credentials" in r.err and "git.example.invalid/org/repo.git" in r.err


@pytest.mark.parametrize(("args", "message"), [
    (("--shard", "0/3"), "--shard '0/3'"), (("--shard", "4/3"), "--shard '4/3'"), (("--shard", "x"), "--shard 'x'"),
    ((), "no repositories"),
])
def test_bad_arguments_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    r = cli("scan", "repos", *args, *(() if not args else (str(tmp_path),)))
    assert r.rc == 2, r.err
    assert message in r.err and "Traceback" not in r.err


def test_a_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.write("a.py", "A = 1\n")
    repo.commit("init", when=1)
    state = tmp_path / "state.db"
    state.write_bytes(b"this is not sqlite" * 100)
    r = cli("scan", "repos", repo.path, "--state", state, "--cache-dir", tmp_path / "m")
    assert r.rc == 3, r.err
    assert str(state) in r.err and "not a credsweep state file" in r.err and "Traceback" not in r.err


def test_the_github_actions_matrix_example_is_a_valid_workflow() -> None:
    need_module("check_jsonschema", "check-jsonschema is not installed (pip install -e '.[test]')")
    import subprocess
    import sys

    path = REPO_ROOT / "examples" / "org-scan" / "github-actions.yml"
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    shards = doc["jobs"]["scan"]["strategy"]["matrix"]["shard"]
    run = "\n".join(s.get("run", "") for s in doc["jobs"]["scan"]["steps"])
    assert shards == [1, 2, 3, 4] and "--shard ${{ matrix.shard }}/4" in run and "scan repos" in run
    assert "credsweep report shard-*.json" in "\n".join(s.get("run", "") for s in doc["jobs"]["review"]["steps"])


def test_the_kubernetes_indexed_job_example_is_a_valid_manifest() -> None:
    kv = need_module("kubernetes_validate", "kubernetes-validate is not installed (pip install -e '.[test]')")
    path = REPO_ROOT / "examples" / "org-scan" / "k8s-indexed-job.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    kv.validate(doc, kv.latest_version(), strict=True)  # raises on a schema error
    spec = doc["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == 4
    args = " ".join(spec["template"]["spec"]["containers"][0]["args"])
    assert "--shard $((JOB_COMPLETION_INDEX + 1))/4" in args and "scan repos" in args


def test_org_listing_from_the_github_api_with_pagination_and_filters(tmp_path: Path, httpserver) -> None:
    """A GitHub organisation listed through its REST API (a local server speaking the same protocol): two pages,
    an archived repository and a fork left out, the token sent to the API only and never shown."""
    token = "ghp_" + "x" * 36  # credsweep:allow
    base = httpserver.url_for("")
    page1 = [{"full_name": "acme/r0", "clone_url": f"{base}git/r0", "archived": False, "fork": False},
             {"full_name": "acme/old", "clone_url": f"{base}git/old", "archived": True, "fork": False}]
    page2 = [{"full_name": "acme/r1", "clone_url": f"{base}git/r1", "archived": False, "fork": False},
             {"full_name": "acme/fork", "clone_url": f"{base}git/fork", "archived": False, "fork": True}]
    httpserver.expect_request("/orgs/acme/repos", query_string="per_page=100&type=all",
                              headers={"Authorization": f"Bearer {token}"}).respond_with_json(
        page1, headers={"Link": f'<{base}orgs/acme/repos?per_page=100&type=all&page=2>; rel="next"'})
    httpserver.expect_request("/orgs/acme/repos", query_string="per_page=100&type=all&page=2").respond_with_json(page2)
    from scanner.sources.git.hosts import list_repositories

    specs = list_repositories("github:acme", {"GITHUB_API_URL": base.rstrip("/"), "GITHUB_TOKEN": token})
    assert [s.name for s in specs] == ["github:acme/r0", "github:acme/r1"]
    assert all(token not in (s.url or "") for s in specs)
    with_all = list_repositories("github:acme", {"GITHUB_API_URL": base.rstrip("/"), "GITHUB_TOKEN": token},
                                 include_archived=True, include_forks=True)
    assert len(with_all) == 4
    r = cli("scan", "repos", "--org", "github:acme", "--cache-dir", tmp_path / "m", "--clone-timeout", "20",
            env={"GITHUB_API_URL": base.rstrip("/"), "GITHUB_TOKEN": token})
    assert r.rc == 4, r.err  # the local server is not a git host: both clones fail, listed, nothing scanned
    assert token not in r.out + r.err and "github:acme/r0" in r.err


def test_org_api_must_be_https(tmp_path: Path) -> None:
    r = cli("scan", "repos", "--org", "github:acme", env={"GITHUB_API_URL": "http://api.example.invalid"})
    assert r.rc == 2, r.err
    assert "GITHUB_API_URL must be an https:// URL" in r.err
    r = cli("scan", "repos", "--org", "bitbucket:acme")
    assert r.rc == 2 and "give github:ORGANISATION or gitlab:GROUP" in r.err

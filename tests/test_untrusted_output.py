"""Issue 14, attacks 5 and 6: content of the scanned tree cannot forge the output, and no key is shown in clear.

Real CLI in a subprocess on real files and real git repositories whose file names and author names carry escape
sequences, carriage returns, bidi overrides and Markdown/HTML injection; a pseudo-terminal for the TTY path;
GitHub's own Markdown renderer (cmark-gfm) and headless Chromium for the rendered reports.
"""

from __future__ import annotations

import html.parser
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CREDSWEEP, cli, fake_key, record_file, record_output
from support import aws_server
from support.toolcheck import missing, need_module
from support.vault_server import bao  # noqa: F401 - fixture

from scanner.redact import looks_like_secret, redact, redact_key
from scanner.safetext import display, md_code, md_text

aws, moto_server = aws_server.aws, aws_server.moto_server  # fixtures

# Escape sequences an attacker would use: OSC 8 hyperlink, screen clear, window title, carriage return, BEL.
OSC8 = "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\"
AUTHOR = f"Eve {OSC8} \x1b[2J\r\u202eX"
NAMES = {
    "osc": "a\x1b]0;pwned\x07\rb.env",
    "bidi": "x\u202eSNE.env",
    "c1": "c\x9b31m.env",
    "img": "<img src=x onerror=alert(1)>.env",
    "link": "[click](https:/evil.example).env",  # a directory "[click](https:" and a file in it
    "www": "www.evil.example.env",  # GitHub autolinks www. and user@host
    "mail": "eve@evil.example.env",
}
# Raw characters that must never reach an output (a terminal, a log, a report): ESC, CR, BEL, C1, bidi controls.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
OUR_SGR = re.compile(r"\x1b\[(?:1;31|31|33|36|37|2|1|0)m")  # the colours credsweep itself writes on a terminal


def assert_clean(text: str, where: str) -> None:
    bad = sorted({hex(ord(c)) for c in FORBIDDEN.findall(text)})
    assert not bad, f"{where}: raw control/bidi characters {bad}"


def _git(repo: Path, *args: str, author: str = "Dev") -> None:
    subprocess.run(["git", "-c", f"user.name={author}", "-c", "user.email=dev@example.com", *args], cwd=repo,
                   check=True, capture_output=True)


def _evil_tree(root: Path) -> dict[str, str]:
    """Files with hostile names, each holding a fresh fake key; returns name kind -> key."""
    root.mkdir(parents=True, exist_ok=True)
    keys = {}
    for kind, name in NAMES.items():
        keys[kind] = fake_key("openai.project-key")
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"OPENAI_API_KEY={keys[kind]}\n", encoding="utf-8")
    return keys


def _mapping_key_tree(root: Path) -> tuple[str, str, str]:
    """A secret used as a YAML and a JSON mapping key, with another secret beside it."""
    root.mkdir(parents=True, exist_ok=True)
    outer, inner, inner2 = (fake_key("openai.project-key"), fake_key("anthropic.api-key"),
                            fake_key("anthropic.api-key"))
    (root / "users.yaml").write_text(f"users:\n  {outer}:\n    api_key: {inner}\n", encoding="utf-8")
    (root / "users.json").write_text(json.dumps({"users": {outer: {"api_key": inner2}}}, indent=1) + "\n",
                                     encoding="utf-8")
    return outer, inner, inner2


# --------------------------------------------------------------------------- the escaping itself


def test_display_escapes_every_control_bidi_and_invisible_character():
    assert display(NAMES["osc"]) == "a\\x1b]0;pwned\\x07\\rb.env"
    assert display("x\u202ey\u2066z\u200bw\ufeff\x9b\x7f\t\n") == "x\\u202ey\\u2066z\\u200bw\\ufeff\\x9b\\x7f\\t\\n"
    assert display("bad\udc9bbyte") == "bad\\x9bbyte"  # an undecodable byte of a file name
    assert display(display(AUTHOR)) == display(AUTHOR)  # idempotent: applied at several layers safely
    assert display("plain/path-ÄÖ/日本.env") == "plain/path-ÄÖ/日本.env"


@pytest.mark.parametrize("key_path", ["spec.containers[0].env[1].HF_TOKEN", "OPENAI_API_KEY_20240101",
                                      "model_list[3].litellm_params.api_key", "projectsAbc2024DatasetsTrainingV2",
                                      "123e4567-e89b-12d3-a456-426614174000", "auths.registry.example.com:5000"])
def test_normal_key_paths_are_not_taken_for_secrets(key_path):
    assert redact_key(key_path) == key_path


def test_secret_looking_segments_and_known_secrets_are_redacted():
    key = fake_key("openai.project-key")
    assert looks_like_secret(key)
    assert redact_key(f"users.{key}.api_key") == f"users.{redact(key)}.api_key"
    other = "ab.cd.ef-gh-ij-kl-mn"  # not secret-looking, but known to be a secret of this file
    assert redact_key(f"x.{other}.y", [other]) == f"x.{redact(other)}.y"


# --------------------------------------------------------------------------- attack 5: forge the terminal


def test_scan_files_text_not_a_tty_escapes_names(tmp_path):
    _evil_tree(tmp_path / "t")
    r = cli("scan", "files", tmp_path / "t")
    assert r.rc == 1, r.err
    assert_clean(r.out + r.err, "scan files text")
    assert "a\\x1b]0;pwned\\x07\\rb.env:1:16" in r.out
    assert "x\\u202eSNE.env:1" in r.out and "c\\x9b31m.env:1" in r.out
    assert f"{len(NAMES)} finding(s)" in r.out


def _run_on_pty(*args: str | os.PathLike[str], cwd: Path | None = None) -> tuple[int, str]:
    """Run credsweep with stdout and stderr on a pseudo-terminal (the TTY path: colours, progress)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
    proc = subprocess.Popen([*CREDSWEEP, *map(str, args)], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            cwd=cwd, env={**env, "TERM": "xterm-256color"})
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    rc = proc.wait(timeout=60)
    out = b"".join(chunks)
    record_output(out, "pty")
    return rc, out.decode("utf-8", "replace").replace("\r\n", "\n")


def test_scan_files_text_on_a_terminal_only_our_colours(tmp_path):
    _evil_tree(tmp_path / "t")
    rc, out = _run_on_pty("scan", "files", tmp_path / "t")
    assert rc == 1, out
    assert OUR_SGR.search(out), "a terminal gets colours"
    assert_clean(OUR_SGR.sub("", out), "scan files on a pty")
    assert "a\\x1b]0;pwned\\x07\\rb.env:1:16" in out


def _evil_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    key = fake_key("openai.project-key")
    (repo / NAMES["osc"]).write_text(f"OPENAI_API_KEY={key}\n", encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "add \x1b[2J config\r", author=AUTHOR)
    return repo, key


def test_scan_repo_escapes_author_and_path(tmp_path):
    repo, _ = _evil_repo(tmp_path)
    r = cli("scan", "repo", repo)
    assert r.rc == 1, r.err
    assert_clean(r.out + r.err, "scan repo text")
    assert f"by {display(AUTHOR)} <dev@example.com> on " in r.out
    assert "\\x1b]8;;https://evil.example\\x1b\\link" in r.out
    rc, out = _run_on_pty("scan", "repo", repo)
    assert rc == 1, out
    assert_clean(OUR_SGR.sub("", out), "scan repo on a pty")
    assert "\\x1b[2J" in out


def test_hook_escapes_staged_names(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _evil_tree(repo)
    _git(repo, "add", "-A")
    r = cli("hook", cwd=repo)
    assert r.rc == 1, r.err
    assert_clean(r.out + r.err, "hook")
    assert "a\\x1b]0;pwned\\x07\\rb.env:1" in r.out and "credsweep blocked this commit" in r.out


def test_error_messages_escape_the_path(tmp_path):
    r = cli("scan", "files", tmp_path, "--config", tmp_path / "missing\x1b[2J\r.toml")
    assert r.rc == 2, r.err
    assert_clean(r.out + r.err, "usage error")
    assert "missing\\x1b[2J\\r.toml" in r.err


# --------------------------------------------------------------------------- Markdown and HTML cannot gain markup


def test_markdown_escapes_are_robust_under_githubs_renderer():
    cmarkgfm = need_module("cmarkgfm")
    for s in [*NAMES.values(), "see https://evil.example, www.evil.example, eve@evil.example", "**b** `c` # h"]:
        for md in (md_text(s), "| a |\n|---|\n| " + md_code(s) + " |", md_code(s, table=False)):
            rendered = cmarkgfm.github_flavored_markdown_to_html(md)
            assert "<a " not in rendered and "<img" not in rendered and "<strong" not in rendered, (s, rendered)
            assert "<h1" not in rendered


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class P(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    P().feed(page)
    return found


def test_markdown_report_has_no_injected_markup(tmp_path):
    cmarkgfm = need_module("cmarkgfm")
    repo, _ = _evil_repo(tmp_path)
    _evil_tree(repo)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "more", author=AUTHOR)
    out = tmp_path / "review.md"
    r = cli("scan", "repo", repo, "--format", "markdown", "--output", out)
    assert r.rc == 1, r.err
    record_file(out)
    md = out.read_text(encoding="utf-8")
    assert_clean(md, "markdown")
    rendered = cmarkgfm.github_flavored_markdown_to_html(md)
    assert "\\x1b]8;;https://evil.example" in html.unescape(rendered)  # the author, escaped and shown
    tags = {t for t, _ in _tags(rendered)}
    assert "img" not in tags and "a" not in tags, tags
    assert "<img src=x onerror=alert(1)>.env" in html.unescape(rendered)  # shown as text, verbatim


def test_html_report_has_no_injected_element_or_attribute(tmp_path):
    repo, _ = _evil_repo(tmp_path)
    _evil_tree(repo)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "more", author=AUTHOR)
    out = tmp_path / "review.html"
    r = cli("scan", "repo", repo, "--format", "html", "--output", out)
    assert r.rc == 1, r.err
    record_file(out)
    page = out.read_text(encoding="utf-8")
    assert_clean(page, "html")
    tags = _tags(page)
    assert not [t for t, _ in tags if t == "img"]
    assert not [(t, a) for t, attrs in tags for a, _ in attrs if a.startswith("on")]
    assert all((v or "").startswith("#") for t, attrs in tags if t == "a" for a, v in attrs if a == "href")
    assert "&lt;img src=x onerror=alert(1)&gt;.env" in page and "\\x1b]8;;https://evil.example" in page
    _in_chromium(tmp_path, out)


def _in_chromium(tmp_path: Path, page_path: Path) -> None:
    chromium = os.environ.get("CREDSWEEP_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists() or shutil.which(chromium) is None:
        missing(f"chromium not found at {chromium}")
    sync_api = need_module("playwright.sync_api")
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            assert page.locator("img").count() == 0
            assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
            assert page.evaluate("[...document.links].filter(a => !a.getAttribute('href').startsWith('#')).length") == 0
            text = page.locator("#inventory").inner_text()
            assert "<img src=x onerror=alert(1)>.env" in text and "[click](https:/evil.example).env" in text
        finally:
            browser.close()
    assert problems == []


# --------------------------------------------------------------------------- SARIF: no absolute root by default


def test_sarif_carries_no_absolute_root_unless_asked(tmp_path):
    from support.schema_util import sarif_errors

    src = tmp_path / "src"
    _evil_tree(src)
    (src / "blob.bin").write_bytes(b"\x00\x01" * 50)
    out = tmp_path / "out.sarif"
    r = cli("scan", "files", src, "--format", "sarif", "--output", out)
    assert r.rc == 1, r.err
    record_file(out)
    text = out.read_text(encoding="utf-8")
    assert_clean(text, "sarif")
    doc = json.loads(text)
    assert sarif_errors(doc) == []
    assert "file:///" not in text and str(tmp_path) not in text
    [run] = doc["runs"]
    assert "uri" not in run["originalUriBaseIds"]["%SRCROOT%"]
    msgs = [res["message"]["text"] for res in run["results"]]
    assert any("a\\x1b]0;pwned\\x07\\rb.env" in m for m in msgs)  # escaped for a SARIF viewer too
    uris = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in run["results"]}
    assert "a%1B%5D0%3Bpwned%07%0Db.env" in uris  # the artifact URI stays exact (percent-encoded)

    out2 = tmp_path / "abs.sarif"
    r = cli("scan", "files", src, "--format", "sarif", "--sarif-absolute-root", "--output", out2)
    assert r.rc == 1, r.err
    record_file(out2)
    doc2 = json.loads(out2.read_text(encoding="utf-8"))
    assert sarif_errors(doc2) == []
    assert doc2["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == src.resolve().as_uri() + "/"


def test_json_keeps_exact_names_with_safe_bytes(tmp_path):
    _evil_tree(tmp_path / "t")
    r = cli("scan", "files", tmp_path / "t", "--format", "json")
    assert r.rc == 1, r.err
    assert_clean(r.out, "json")
    paths = {loc["path"] for f in json.loads(r.out)["findings"] for loc in f["locations"]}
    assert paths == set(NAMES.values())  # the data is exact: JSON escapes only change the bytes


# --------------------------------------------------------------------------- attack 6: a key as a mapping key


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "html", "markdown"])
def test_secret_mapping_key_never_in_clear(tmp_path, fmt):
    outer, inner, inner2 = _mapping_key_tree(tmp_path / "t")
    out = tmp_path / f"out.{fmt}"
    r = cli("scan", "files", tmp_path / "t", "--format", fmt, "--output", out)
    assert r.rc == 1, r.err
    record_file(out)
    text = out.read_text(encoding="utf-8")
    for value in (outer, inner, inner2):
        assert value not in text and value not in r.out + r.err
    if fmt == "json":
        doc = json.loads(text)
        kps = {loc.get("key_path") for f in doc["findings"] for loc in f["locations"]}
        assert f"users.{redact(outer)}.api_key" in kps
        assert {f["rule_id"] for f in doc["findings"]} == {"openai.project-key", "anthropic.api-key"}
    else:
        assert f"users.{redact(outer)}.api_key" in text or fmt == "text"


def test_secret_mapping_key_in_git_history_never_in_clear(tmp_path):
    repo = tmp_path / "repo"
    outer, _, _ = _mapping_key_tree(repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "users")
    (repo / "users.yaml").unlink()
    _git(repo, "commit", "-q", "-am", "remove")
    r = cli("scan", "repo", repo, "--format", "json")
    assert r.rc == 1, r.err
    assert outer not in r.out
    assert f"users.{redact(outer)}.api_key" in r.out


@pytest.mark.slow
def test_secret_as_vault_path_segment_or_field_name_never_in_clear(bao, tmp_path):  # noqa: F811
    """A real OpenBao server: a key used as a path segment and another as a field name (whose value is a key)."""
    from conftest import plant

    plant(bao.root_token)
    in_path, as_field, value = (fake_key("openai.project-key"), fake_key("anthropic.api-key"),
                                fake_key("openai.project-key"))
    c = bao.client()
    c.secrets.kv.v2.create_or_update_secret(path=f"leak/{in_path}", secret={"api_key": value}, mount_point="secret")
    c.secrets.kv.v2.create_or_update_secret(path="leak/fields", secret={as_field: value}, mount_point="secret")
    for fmt in ("json", "text", "markdown", "html"):
        out = tmp_path / f"vault.{fmt}"
        r = cli("scan", "vault", "--read-values", "--format", fmt, "--output", out, env=bao.env(), timeout=120)
        assert r.rc == 1, r.err
        record_file(out)
        text = out.read_text(encoding="utf-8")
        for secret in (in_path, as_field, value):
            assert secret not in text and secret not in r.err, fmt
        if fmt == "json":
            ids = {cred["id"] for cred in json.loads(text)["credentials"]}
            assert f"vault-kv:secret/leak/{redact(in_path)}#api_key" in ids
            assert f"vault-kv:secret/leak/fields#{redact(as_field)}" in ids


@pytest.mark.slow
def test_secret_as_json_key_in_an_aws_secret_never_in_clear(aws):  # noqa: F811
    """A real moto server: a Secrets Manager value whose JSON uses one key as the name of another."""
    from support.aws_server import REGION

    outer, inner = fake_key("openai.project-key"), fake_key("anthropic.api-key")
    aws.client("secretsmanager").create_secret(Name="prod/llm/users",
                                                SecretString=json.dumps({"users": {outer: {"api_key": inner}}}))
    r = cli("scan", "aws", "--format", "json", "--region", REGION, "--read-values", env=aws.env())
    assert r.rc == 1, r.err
    assert outer not in r.out and inner not in r.out and outer not in r.err
    paths = {v for cred in json.loads(r.out)["credentials"] for k, v in cred["attributes"] if k == "key_path"}
    assert f"users.{redact(outer)}.api_key" in paths, paths


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))

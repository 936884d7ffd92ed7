"""The HTML review: self-contained, escaped, and working in a real headless Chromium (Playwright)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import record_file, record_output
from support import report_factory
from support.toolcheck import missing, need_module

from scanner.report.formats.base import FormatOptions
from scanner.report.formats.html import csp_hash, render

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CREDSWEEP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _reviews() -> tuple[str, report_factory.Planted]:
    """The current review, compared with an older one in which one finding was still open."""
    current = report_factory.build()
    older = report_factory.build(started=report_factory.NOW - timedelta(days=91))
    prev = replace(older.report, findings=older.report.findings[:2] + current.report.findings[:1])
    html = render(current.report, FormatOptions(compare=prev, history=(prev,)))
    record_output(html, "review.html")
    return html, current


def test_self_contained_escaped_and_csp_hashed():
    html, planted = _reviews()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "external resource"
    assert "<link" not in html and "@import" not in html and "url(" not in html
    # exactly one script and one style block, both allowed by hash, nothing else
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert len(scripts) == 1 and len(styles) == 1
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = csp.group(1)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert csp_hash(scripts[0]) in policy and csp_hash(styles[0]) in policy
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert ' style="' not in html
    # a path with HTML in it is escaped, never markup
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    for value in planted.values:
        assert value not in html


def _launch(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.mark.slow
def test_in_headless_chromium(tmp_path):
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        missing(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = need_module("playwright.sync_api")
    html, _ = _reviews()
    page_path = tmp_path / "review.html"
    page_path.write_text(html, encoding="utf-8")
    record_file(page_path)
    url = page_path.as_uri()
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_load_state("load")
            assert page.title().startswith("Credential review")

            rows = page.locator("#inventory tbody tr")
            total = rows.count()
            assert total == 10
            assert page.locator("#f-count").inner_text() == f"{total} of {total} shown"

            # sorting: age descending, then ascending (unknown ages always last)
            age_header = page.locator("#inventory thead th").nth(6)
            age_header.locator("button").click()
            assert age_header.get_attribute("aria-sort") == "descending"
            ages = [int(t) for t in page.locator("#inventory tbody tr td:nth-child(7)").all_inner_texts()
                    if t.strip().isdigit()]
            assert ages == sorted(ages, reverse=True) and len(ages) >= 4
            age_header.locator("button").click()
            assert age_header.get_attribute("aria-sort") == "ascending"
            ages = [int(t) for t in page.locator("#inventory tbody tr td:nth-child(7)").all_inner_texts()
                    if t.strip().isdigit()]
            assert ages == sorted(ages)
            provider_header = page.locator("#inventory thead th").nth(1)
            provider_header.locator("button").click()
            providers = page.locator("#inventory tbody tr td:nth-child(2)").all_inner_texts()
            assert providers == sorted(providers, key=str.lower)

            # filters: source, severity, provider, text, needs-action, and back
            page.select_option("#f-source", "vault")
            visible = page.locator("#inventory tbody tr:not([hidden])")
            assert visible.count() == 3  # two stored credentials and one key found inside a secret
            assert page.locator("#f-count").inner_text() == f"3 of {total} shown"
            page.select_option("#f-source", "")
            page.select_option("#f-severity", "3")  # high and above
            sevs = visible.locator("td:nth-child(1)").all_inner_texts()
            assert sevs and {s.strip().lower() for s in sevs} <= {"critical", "high"}
            page.select_option("#f-severity", "")
            page.select_option("#f-provider", "AWS")
            assert visible.count() == 1 and "ci-deployer" in visible.first.inner_text()
            page.select_option("#f-provider", "")
            page.fill("#f-text", "eval.ipynb")
            assert visible.count() == 1 and "a1b2c3d4e5" in visible.first.inner_text()
            page.fill("#f-text", "")
            page.check("#f-open")
            assert visible.count() == total - 2  # the allowed test value and the compliant secret drop out
            page.uncheck("#f-open")
            assert visible.count() == total

            # the comparison and the charts are there
            changes = page.locator("#changes").inner_text()
            assert "resolved" in changes and "mean time to remediate" in changes
            assert page.locator("#charts svg").count() == 3

            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "html-report.png"), full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=str(ARTIFACTS / "html-report-print.png"), full_page=True)
            pdf = page.pdf(format="A4", landscape=True)
            assert pdf[:4] == b"%PDF"
        finally:
            browser.close()
    assert problems == []
    assert requests and all(u == url for u in requests), f"network requests: {set(requests) - {url}}"

"""Two analysts use `tipline console` in headless Chromium, as they would: open the printed address,
filter, search, open a report with a photo and a voice note, triage it, see the other's triage,
see the charts and the map, export, and no request ever leaves 127.0.0.1."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from secure_store.backends import FileStore
from secure_store.keys import parse_public_keys
from tests.conftest import ROOT, AnalystKey, make_analyst_key
from tests.console_reports import file_samples

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Console:
    """A real `tipline console` process; `address` is the one-time address it printed."""

    def __init__(self, key: AnalystKey, store: Path, team: Path, cache: Path, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPLINE_", "STORE_", "ANALYST_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "console", "--key", str(key.path), "--store", f"file://{store}",
             "--team", str(team), "--cache-dir", str(cache), "--name", name],
            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("tipline console: open http://127.0.0.1:"), line + self.process.stderr.read()
        self.address = line.split("open ", 1)[1].strip()
        self.origin = self.address.split("/?", 1)[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


def watch(page: Page, seen: list[str]) -> Page:
    page.on("request", lambda request: seen.append(request.url))
    return page


def rows(page: Page) -> int:
    return page.locator("table.inbox tbody tr").count()


def test_two_analysts_work_the_inbox_together(browser: Browser, tmp_path: Path) -> None:
    ana, ben = make_analyst_key(tmp_path / "ana", "ana"), make_analyst_key(tmp_path / "ben", "ben")
    store = FileStore(tmp_path / "store")
    ids = file_samples(store, parse_public_keys([ana.public, ben.public]))
    team = tmp_path / "team.txt"
    team.write_text(f"# our team\n{ana.public}\n{ben.public}\n")
    consoles = [Console(ana, store.root, team, tmp_path / "cache-ana", "Ana"),
                Console(ben, store.root, team, tmp_path / "cache-ben", "Ben")]
    seen: list[str] = []
    try:
        first = consoles[0]
        context = browser.new_context(accept_downloads=True)
        page = watch(context.new_page(), seen)
        page.goto(first.address)
        assert page.url == first.origin + "/"
        assert rows(page) == 3 and page.locator(".badge.new").count() == 3
        assert page.locator("table.inbox tbody tr").first.get_attribute("data-report") == ids["spanish"]

        page.select_option("select[name=language]", "ar")
        page.click("form.filters button")
        assert rows(page) == 1 and "عاملة" in page.locator("table.inbox").inner_text()
        page.click("text=Clear")
        page.fill("input[name=q]", "massage")
        page.press("input[name=q]", "Enter")
        assert rows(page) == 1 and page.locator("#count").inner_text() == "1"
        page.click("text=Clear")

        page.click(f"a[href='/report/{ids['spanish']}']")
        assert "Trabajo forzoso" in page.inner_text("#answers") and "(Forced labour)" in page.inner_text("#answers")
        assert "France" in page.inner_text("#answers") and "45.764, 4.8357" in page.inner_text("#answers")
        photo = page.locator("#media img")
        photo.wait_for()
        page.wait_for_function("document.querySelector('#media img').complete")
        assert photo.evaluate("img => img.naturalWidth") == 64
        page.wait_for_function("document.querySelector('#media audio').readyState >= 1")
        assert page.locator("#media audio").evaluate("a => a.duration") > 0
        assert "Volvieron con la furgoneta" in page.inner_text("#additions")
        assert "4815162342" not in page.content()
        page.click("text=Show the follow-up address")
        assert "telegram:4815162342" in page.inner_text("#follow-up")

        page.select_option("#triage select[name=value]", "in review")
        page.click("text=Save status")
        assert page.inner_text("#triage .status") == "in review"
        page.fill("#triage textarea", "Called the labour inspectorate")
        page.click("text=Add note")
        assert "Called the labour inspectorate" in page.inner_text("#triage .notes")
        assert "revealed follow-up" in page.inner_text("#history")

        page.click(f"#additions a[href='/report/{ids['addition']}']")
        assert f"/report/{ids['spanish']}" in page.inner_html("#summary")  # linked both ways
        assert page.locator("#media img").count() == 0 and "download only" in page.inner_text("#media")

        page.click("nav >> text=Insights")
        assert page.locator("svg.chart").count() == 7
        assert page.locator("svg.chart rect.bar").count() >= 10
        assert page.locator("svg.chart").first.bounding_box()["height"] > 100  # type: ignore[index]
        page.click("nav >> text=Map")
        assert page.inner_text("#pins") == "1" and page.locator("svg.map path").count() > 100

        page.click("nav >> text=Export")
        page.check("input[name=follow_up]")
        with page.expect_download() as downloaded:
            page.click("text=Download CSV")
        exported = list(csv.DictReader(io.StringIO(Path(downloaded.value.path()).read_text())))
        assert [r["report_id"] for r in exported] == [ids["spanish"], ids["english"], ids["arabic"]]
        spanish = exported[0]
        assert spanish["Type"] == "Forced labour" and spanish["triage_status"] == "in review"
        assert spanish["follow_up_address"] == "telegram:4815162342" and "Volvieron" in spanish["additions"]
        assert spanish["media"].count("sha256=") == 3
        context.close()

        second = consoles[1]
        context = browser.new_context()
        page = watch(context.new_page(), seen)
        page.goto(second.address)
        page.click(f"a[href='/report/{ids['spanish']}']")
        assert page.inner_text("#triage .status") == "in review"
        assert "Called the labour inspectorate" in page.inner_text("#triage .notes")
        assert "Ana" in page.inner_text("#history")
        context.close()
    finally:
        for console in consoles:
            console.stop()
    origins = tuple(c.origin + "/" for c in consoles)
    assert len(seen) > 20 and [url for url in seen if not url.startswith(origins)] == []

"""The simulator page in a real headless Chromium: each channel shown as it really is.

Screenshots go to $TIPLINE_SCREENSHOTS when set (docs/screens/ holds the shipped ones), else to the
test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import Browser, Page, async_playwright

from bot.app import make_app
from config.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 720}
LOCALES = Path(__file__).resolve().parent.parent / "flows" / "locales"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page_url(settings: Settings, aiohttp_server: Any) -> str:
    server = await aiohttp_server(make_app(settings))
    return str(server.make_url("/simulator"))


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TIPLINE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def open_phone(browser: Browser, url: str, kind: str, country: str = "GB", locale: str = "en-GB") -> Page:
    page = await browser.new_page(viewport=PHONE, locale=locale)
    await page.goto(url)
    await page.select_option("#kind", kind)
    if kind != "telegram":
        await page.select_option("#country", country)
    return page


async def type_message(page: Page, text: str) -> None:
    before = await page.locator(".msg.bot").count()
    await page.fill("#text", text)
    await page.click("#send")
    await page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {before}")


async def tap(page: Page, label: str) -> None:
    before = await page.locator(".msg.bot").count()
    await page.locator(".msg.bot").last.get_by_role("button", name=label, exact=True).click()
    await page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {before}")


async def test_the_send_button_fits_a_360px_phone(browser: Browser, page_url: str, shots: Path) -> None:
    page = await open_phone(browser, page_url, "whatsapp")
    box = await page.locator("#send").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    assert box["y"] + box["height"] <= PHONE["height"], box
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await type_message(page, "hello")
    await page.screenshot(path=str(shots / "whatsapp-360px.png"))


async def test_sms_is_numbered_text_with_nothing_to_tap(browser: Browser, page_url: str, shots: Path) -> None:
    page = await open_phone(browser, page_url, "sms", country="NL")  # no language of ours pre-selected
    await type_message(page, "hello")
    bubbles = page.locator(".msg.bot")
    text = "\n".join(await bubbles.all_inner_texts())
    assert "1. English" in text and "Choose your language" in text
    assert await page.locator(".msg.bot button").count() == 0, "an SMS has no buttons"
    assert "SMS segment" in text
    await type_message(page, "1")
    assert "Continue?" in (await bubbles.last.inner_text())
    assert "1. Yes" in (await bubbles.last.inner_text())
    await page.screenshot(path=str(shots / "sms.png"))


async def test_the_phone_country_is_passed_to_the_bot(browser: Browser, page_url: str, shots: Path) -> None:
    """A Romanian number gets the Romanian welcome without the language question."""
    welcome = yaml.safe_load((LOCALES / "ro.yaml").read_text(encoding="utf-8"))["messages"]["welcome"]
    page = await open_phone(browser, page_url, "sms", country="RO")
    await type_message(page, "buna")
    text = "\n".join(await page.locator(".msg.bot").all_inner_texts())
    assert welcome.split(".")[0] in text
    assert "Choose your language" not in text


async def test_whatsapp_buttons_and_lists_keep_to_whatsapps_limits(
    browser: Browser, page_url: str, shots: Path
) -> None:
    page = await open_phone(browser, page_url, "whatsapp", country="")
    await type_message(page, "hello")
    languages = page.locator(".msg.bot").last
    assert await languages.locator(".list-open").count() == 1, "six languages: a list, not six buttons"
    await languages.locator(".list-open").click()
    await page.screenshot(path=str(shots / "whatsapp-list.png"))
    assert 4 <= await languages.locator(".list button").count() <= 10
    await tap(page, "English")
    consent = page.locator(".msg.bot").last
    assert await consent.locator(".choices:not(.list) button").count() == 2
    await tap(page, "Yes")
    for bubble in await page.locator(".msg.bot").all():
        assert await bubble.locator(".choices:not(.list) button").count() <= 3
        assert await bubble.locator(".list button").count() <= 10
        for label in await bubble.locator(".choices:not(.list) button").all_inner_texts():
            assert len(label) <= 20
        for label in await bubble.locator(".list button").all_inner_texts():
            assert len(label) <= 24
    me = await page.locator(".msg.me").all_inner_texts()
    assert me == ["hello", "English", "Yes"], "a tapped reply shows as the reporter's message"
    await page.screenshot(path=str(shots / "whatsapp-buttons.png"))


async def test_telegram_keyboard_and_erasing_the_chat(browser: Browser, page_url: str, shots: Path) -> None:
    page = await open_phone(browser, page_url, "telegram")
    assert await page.locator("#country").is_disabled(), "Telegram tells a bot no phone number"
    await type_message(page, "hello")
    assert await page.locator(".msg.bot").last.locator(".choices button").count() == 2
    await tap(page, "No")
    assert await page.get_by_role("button", name="Erase this chat").count() == 1
    await page.screenshot(path=str(shots / "telegram-erase-offer.png"))
    await page.get_by_role("button", name="Erase this chat").click()
    await page.wait_for_selector("text=This chat was erased")
    assert await page.locator(".msg").count() == 0, "both sides of the conversation are gone"
    await page.screenshot(path=str(shots / "telegram-erased.png"))


async def test_arabic_reads_right_to_left_on_both_sides(browser: Browser, page_url: str, shots: Path) -> None:
    page = await open_phone(browser, page_url, "telegram", locale="ar")
    await type_message(page, "مرحبا")
    direction = "el => getComputedStyle(el).direction"
    assert await page.locator(".msg.bot").last.evaluate(direction) == "rtl"
    assert await page.locator(".msg.me").last.evaluate(direction) == "rtl"
    await tap(page, "نعم")
    await type_message(page, "عمل قسري")
    assert await page.locator(".msg.me").last.evaluate(direction) == "rtl"
    assert await page.locator(".msg.bot").last.evaluate(direction) == "rtl"
    await page.screenshot(path=str(shots / "telegram-arabic-rtl.png"))

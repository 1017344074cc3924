"""The Telegram channel over real HTTP: the webhook in the real app, replies and files through a
local Bot API double, reports filed by a real RQ worker into the sealed store."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient

from adapters.base import MediaLimits, MediaRef, MediaRefused, Reply
from adapters.telegram import TelegramAdapter, delete_messages, erasable_ids
from bot.app import make_app
from config.settings import Settings, SettingsError, load_settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from tests.conftest import ROOT, AnalystKey, run_burst_worker, worker_env
from tests.contract import AdapterContract, photo
from tests.doubles.telegram_api import TelegramApiDouble, recorded_text
from tests.scenario import Script, begin_report, complete_report, expect, joined, word

TOKEN = "123456789:AAE-test_token-for-the-double"
SECRET = "webhook-secret_0123456789abcdef"
WEBHOOK = "/webhooks/telegram"
_update_ids = itertools.count(random.randint(10**8, 5 * 10**8))


class TelegramPhone:
    """A reporter's Telegram app: sends updates shaped exactly like the Bot API's, reads what the
    bot sent through the double (inline buttons shown as numbered labels)."""

    def __init__(self, client: TestClient[Any, Any], api: TelegramApiDouble) -> None:
        self.client = client
        self.api = api
        self.chat_id = random.randint(5 * 10**9, 9 * 10**9)
        self.sender = str(self.chat_id)
        self.last: dict[str, Any] | None = None
        self.buttons: list[str] = []
        self.keyboard_message_id = 0
        self.identities = ["ana_reports"]  # the username in every update's `from` and `chat`

    def user(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": "Ana", "username": "ana_reports",
                "language_code": "en"}

    def chat(self, kind: str = "private") -> dict[str, Any]:
        if kind != "private":
            return {"id": -1000000000000 - self.chat_id % 1000, "type": kind, "title": "Neighbours"}
        return {"id": self.chat_id, "type": "private", "first_name": "Ana", "username": "ana_reports"}

    def message(self, **content: Any) -> dict[str, Any]:
        return {"message_id": self.api.next_message_id(self.chat_id), "from": self.user(), "chat": self.chat(),
                "date": int(time.time()), **content}

    def update(self, kind: str = "message", **content: Any) -> dict[str, Any]:
        return {"update_id": next(_update_ids), kind: self.message(**content)}

    async def post(self, update: Any, secret: str | None = SECRET) -> int:
        """Deliver an update as Telegram does, including making the one Bot API call the webhook's
        response may carry."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        response = await self.client.post(WEBHOOK, json=update, headers=headers)
        if response.status == 200 and response.content_type == "application/json":
            call = dict(await response.json())
            async with aiohttp.ClientSession() as session, session.post(
                    f"{self.api.base}/bot{self.api.token}/{call.pop('method')}", json=call) as made:
                assert made.status == 200, await made.text()
        return response.status

    async def read_when_quiet(self, since: int, quiet: float = 0.4, patience: float = 10.0) -> list[str]:
        """What the bot sent since `since` once nothing new came for `quiet` seconds (an album's
        answer is sent after the webhooks answered, ALBUM_QUIET_MS=150 in tests)."""
        seen, last_change, deadline = -1, time.monotonic(), time.monotonic() + patience
        while time.monotonic() < deadline:
            replies = self.read(since)
            if len(replies) != seen:
                seen, last_change = len(replies), time.monotonic()
            elif replies and time.monotonic() - last_change >= quiet:
                return replies
            await asyncio.sleep(0.02)
        return self.read(since)

    def read(self, since: int) -> list[str]:
        sent = [c for c in self.api.calls_of("sendMessage", since)
                if c.status == 200 and str(c.params.get("chat_id")) == self.sender]
        for call in sent:
            markup = call.params.get("reply_markup") or {}
            if markup.get("inline_keyboard"):
                self.buttons = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
                self.keyboard_message_id = call.result["message_id"]
        return [recorded_text(c) for c in sent]

    async def deliver(self, update: dict[str, Any]) -> list[str]:
        self.last = update
        mark = self.api.mark()
        assert await self.post(update) == 200
        return self.read(mark)

    async def say(self, text: str) -> list[str]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self.deliver(self.update(**content))

    def photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        """What Telegram sends for one photo: thumbnails first, the full size last."""
        sizes = []
        for width, height, thumb in ((90, 67, photo("gray", (90, 67))), (320, 240, photo("black", (320, 240)))):
            file_id, unique = self.api.add_file(thumb)
            sizes.append({"file_id": file_id, "file_unique_id": unique, "width": width, "height": height,
                          "file_size": len(thumb)})
        file_id, unique = self.api.add_file(data)
        sizes.append({"file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 960,
                      "file_size": len(data)})
        return sizes

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        content: dict[str, Any] = {"photo": self.photo_sizes(data)}
        if caption:
            content["caption"] = caption
        return await self.deliver(self.update(**content))

    async def location(self, latitude: float, longitude: float) -> list[str]:
        return await self.deliver(self.update(location={"latitude": latitude, "longitude": longitude}))

    async def press(self, number: int) -> list[str]:
        """Tap the `number`-th button of the last keyboard the bot sent."""
        query = {"id": str(random.randint(10**15, 10**16)), "from": self.user(), "chat_instance": "-42",
                 "data": self.buttons[number - 1],
                 "message": {"message_id": self.keyboard_message_id,
                             "from": {"id": 777000111, "is_bot": True, "first_name": "Tipline"},
                             "chat": self.chat(), "date": int(time.time()), "text": "..."}}
        return await self.deliver({"update_id": next(_update_ids), "callback_query": query})

    async def redeliver(self) -> list[str]:
        assert self.last is not None
        return await self.deliver(self.last)

    async def forged(self) -> int:
        return await self.post(self.update(text="hello"), secret="webhook-secret_0123456789abcdeX")

    async def malformed(self) -> list[int]:
        statuses = []
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for body, content_type in ((b"{not json", "application/json"), (b"[]", "application/json"),
                                   (b'{"message": {}}', "application/json"),
                                   (b'{"update_id": "7"}', "application/json"),
                                   (b"update_id=7", "application/x-www-form-urlencoded"),
                                   (b"\xff\xfe{}", "application/json"),
                                   (json.dumps({"update_id": 1, "pad": "x" * 600_000}).encode(), "application/json")):
            response = await self.client.post(WEBHOOK, data=body, headers={**headers, "Content-Type": content_type})
            statuses.append(response.status)
        return statuses


@pytest.fixture
def telegram_api() -> Iterator[TelegramApiDouble]:
    api = TelegramApiDouble(TOKEN).start()
    yield api
    api.stop()


@pytest.fixture
def service_env(service_env: dict[str, str], telegram_api: TelegramApiDouble) -> dict[str, str]:
    return {**service_env, "CHANNELS": "telegram,simulator", "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_API_BASE": telegram_api.base}


@pytest.fixture
async def reporter(settings: Settings, aiohttp_client: Any, telegram_api: TelegramApiDouble) -> TelegramPhone:
    return TelegramPhone(await aiohttp_client(make_app(settings)), telegram_api)


@pytest.fixture
async def replying_reporter(service_env: dict[str, str], aiohttp_client: Any,
                            telegram_api: TelegramApiDouble) -> TelegramPhone:
    """A reporter's phone, the service answering with TELEGRAM_WEBHOOK_REPLIES=on."""
    settings = load_settings({**service_env, "TELEGRAM_WEBHOOK_REPLIES": "on"})
    return TelegramPhone(await aiohttp_client(make_app(settings)), telegram_api)


class TestTelegramContract(AdapterContract):
    pass


def filed_report(service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey) -> dict[str, Any]:
    result = run_burst_worker(service_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert TOKEN not in result.stdout + result.stderr  # file URLs carry the bot token
    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None, opened.error
    return opened.report


def stored_media(store: FileStore, analyst_key: AnalystKey, report: dict[str, Any]) -> list[bytes]:
    return [open_media(store, analyst_key.load(), m["id"]) for m in report["media"] if m["status"] == "stored"]


class EveryKindPhone:
    """Sends the scenario's attachments as video, voice note, audio and document, and its shared
    location as a venue, as Telegram's apps do."""

    KINDS = (("video", "mp4", {"mime_type": "video/mp4", "duration": 3, "width": 640, "height": 480}),
             ("voice", "oga", {"mime_type": "audio/ogg", "duration": 2}),
             ("audio", "mp3", {"mime_type": "audio/mpeg", "duration": 60}),
             ("document", "pdf", {"mime_type": "application/pdf", "file_name": "rota.pdf"}))

    def __init__(self, phone: TelegramPhone) -> None:
        self.phone = phone
        self.sent = 0

    async def say(self, text: str) -> list[str]:
        return await self.phone.say(text)

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        kind, suffix, extra = self.KINDS[self.sent % len(self.KINDS)]
        self.sent += 1
        file_id, unique = self.phone.api.add_file(data, suffix=suffix, folder=kind)
        item = {"file_id": file_id, "file_unique_id": unique, "file_size": len(data), **extra}
        return await self.phone.deliver(self.phone.update(**{kind: item}))

    async def location(self, latitude: float, longitude: float) -> list[str]:
        venue = {"location": {"latitude": latitude, "longitude": longitude}, "title": "Boulangerie du Coin",
                 "address": "Rue de la Paix 12, Lyon"}
        return await self.phone.deliver(self.phone.update(
            venue=venue, location={"latitude": latitude, "longitude": longitude}))


@pytest.mark.slow
async def test_photos_are_fetched_at_full_size_never_as_thumbnails(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    telegram_api: TelegramApiDouble,
) -> None:
    full = photo("green", (1280, 960))
    await complete_report(reporter, [full])
    report = filed_report(service_env, store, analyst_key)
    assert stored_media(store, analyst_key, report) == [full]
    assert [m["kind"] for m in report["media"]] == ["photo"]
    assert len(telegram_api.downloads) == 1


@pytest.mark.slow
async def test_video_voice_audio_document_and_venue_are_filed_as_sent(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    files = [b"\x00\x00\x00\x18ftypmp42 video", b"OggS voice note", b"ID3 audio", b"%PDF-1.4 rota"]
    await complete_report(EveryKindPhone(reporter), files, shared_location=(45.7578, 4.8320))
    report = filed_report(service_env, store, analyst_key)
    assert stored_media(store, analyst_key, report) == files
    assert [(m["kind"], m["content_type"]) for m in report["media"]] == [
        ("video", "video/mp4"), ("voice", "audio/ogg"), ("audio", "audio/mpeg"), ("document", "application/pdf")]
    assert report["answers"]["location"] == {"latitude": 45.7578, "longitude": 4.8320,
                                             "address": "Rue de la Paix 12, Lyon", "label": "Boulangerie du Coin"}


class AlbumPhone:
    """Sends each of the scenario's photos as an album of four: four updates sharing one
    media_group_id, delivered at the same moment (as two web processes may see them), or one after
    the other, each once the webhook answered the last (as the Bot API delivers a chat's updates)."""

    def __init__(self, phone: TelegramPhone, companions: list[bytes], in_turn: bool = False) -> None:
        self.phone = phone
        self.companions = companions
        self.in_turn = in_turn

    async def say(self, text: str) -> list[str]:
        return await self.phone.say(text)

    async def location(self, latitude: float, longitude: float) -> list[str]:
        return await self.phone.location(latitude, longitude)

    async def photo(self, data: bytes, caption: str | None = None) -> list[str]:
        group = str(random.randint(10**17, 10**18))
        updates = [self.phone.update(photo=self.phone.photo_sizes(item), media_group_id=group)
                   for item in (data, *self.companions)]
        if caption:  # Telegram carries an album's caption on its first photo
            updates[0]["message"]["caption"] = caption
        mark = self.phone.api.mark()
        if self.in_turn:
            statuses = [await self.phone.post(update) for update in updates]
        else:
            statuses = await asyncio.gather(*(self.phone.post(update) for update in updates))
        assert statuses == [200] * len(updates)
        return await self.phone.read_when_quiet(mark)


@pytest.mark.slow
async def test_an_album_arriving_as_parallel_updates_is_filed_whole(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    album = [photo(color) for color in ("red", "green", "blue", "yellow")]
    await complete_report(AlbumPhone(reporter, album[1:]), album[:1])
    report = filed_report(service_env, store, analyst_key)
    assert sorted(stored_media(store, analyst_key, report)) == sorted(album)


class ButtonPhone:
    """Answers choices by tapping the inline button instead of typing its number."""

    def __init__(self, phone: TelegramPhone) -> None:
        self.phone = phone
        self.photo = phone.photo
        self.location = phone.location

    async def say(self, text: str) -> list[str]:
        if text.isdigit() and self.phone.buttons:
            return await self.phone.press(int(text))
        return await self.phone.say(text)


@pytest.mark.slow
async def test_choices_are_buttons_and_a_tap_answers_them(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    telegram_api: TelegramApiDouble,
) -> None:
    await complete_report(ButtonPhone(reporter), [])
    answered = telegram_api.calls_of("answerCallbackQuery")
    assert len(answered) == 1 and answered[0].status == 200
    assert reporter.last is not None and "callback_query" not in reporter.last
    report = filed_report(service_env, store, analyst_key)
    assert report["answers"]["category"] == Script().category_key


async def test_typed_numbers_still_answer_a_choice_with_buttons(reporter: TelegramPhone) -> None:
    await begin_report(reporter)
    assert reporter.buttons == ["labour", "sexual", "domestic", "begging", "crime", "other"]
    assert expect("en", "description.prompt") in joined(await reporter.say("1"))


class EditingPhone:
    """Corrects the description by editing the message, which Telegram delivers as edited_message."""

    def __init__(self, phone: TelegramPhone, script: Script) -> None:
        self.phone = phone
        self.script = script
        self.photo = phone.photo
        self.location = phone.location

    async def say(self, text: str) -> list[str]:
        if text == self.script.description:
            return await self.phone.deliver(self.phone.update("edited_message", text=text,
                                                              edit_date=int(time.time())))
        return await self.phone.say(text)


async def test_an_edited_message_counts_as_a_new_message_once(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    script = Script()
    editing = EditingPhone(reporter, script)
    await begin_report(editing)  # type: ignore[arg-type]
    await editing.say(script.category_answer)
    assert expect("en", "messages.more") in joined(await editing.say(script.description))
    assert await reporter.redeliver() == []


class PosterPhone:
    """Opens the chat from a deep link on a poster (`t.me/bot?start=lang_en`) instead of saying hello."""

    def __init__(self, phone: TelegramPhone) -> None:
        self.phone = phone
        self.photo = phone.photo
        self.location = phone.location
        self.opened = False

    async def say(self, text: str) -> list[str]:
        if not self.opened:
            self.opened = True
            return await self.phone.say("/start lang_en")
        return await self.phone.say(text)


@pytest.mark.slow
async def test_start_with_a_deep_link_payload_opens_a_report(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    await complete_report(PosterPhone(reporter), [])
    assert filed_report(service_env, store, analyst_key)["status"] == "complete"


async def test_commands_reach_the_flow_as_words(reporter: TelegramPhone, redis_client: redis.Redis) -> None:
    await reporter.say("hello")
    assert redis_client.keys("tl:s:*")
    await reporter.say("/cancel@TiplineTestBot")
    assert redis_client.keys("tl:s:*") == []


async def test_updates_the_service_cannot_use_get_200_and_leave_nothing(
    reporter: TelegramPhone, redis_client: redis.Redis, telegram_api: TelegramApiDouble,
) -> None:
    bot = {"id": 777000111, "is_bot": True, "first_name": "Tipline"}
    group = {**reporter.message(text="hello"), "chat": reporter.chat("group")}
    from_bot = {**reporter.message(text="hello"), "from": {**bot, "id": 1}}
    kicked = {"chat": reporter.chat(), "from": reporter.user(), "date": int(time.time()),
              "old_chat_member": {"status": "member", "user": bot},
              "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0}}
    channel_post = {"message_id": 5, "chat": {"id": -1001, "type": "channel", "title": "News"},
                    "date": int(time.time()), "text": "hello"}
    updates = [
        {"update_id": next(_update_ids), "message": group},
        {"update_id": next(_update_ids), "message": from_bot},
        {"update_id": next(_update_ids), "my_chat_member": kicked},
        {"update_id": next(_update_ids), "channel_post": channel_post},
        {"update_id": next(_update_ids), "inline_query": {"id": "9", "from": reporter.user(), "query": "x",
                                                          "offset": ""}},
        {"update_id": next(_update_ids), "poll": {"id": "1", "question": "q", "options": []}},
        {"update_id": next(_update_ids), "a_kind_from_the_future": {"x": 1}},
    ]
    mark = telegram_api.mark()
    for update in updates:
        assert await reporter.post(update) == 200, update
    assert redis_client.keys("*") == []
    assert telegram_api.calls_of("sendMessage", mark) == []


async def test_a_live_location_moving_does_not_flood_the_conversation(
    reporter: TelegramPhone, redis_client: redis.Redis, telegram_api: TelegramApiDouble,
) -> None:
    await reporter.say("hello")
    mark = telegram_api.mark()
    moved = reporter.update("edited_message", location={"latitude": 1.0, "longitude": 2.0, "live_period": 900},
                            edit_date=int(time.time()))
    assert await reporter.post(moved) == 200
    assert telegram_api.calls_of("sendMessage", mark) == []


async def test_a_missing_or_wrong_secret_is_refused(reporter: TelegramPhone, redis_client: redis.Redis,
                                                    telegram_api: TelegramApiDouble) -> None:
    for secret in (None, "", SECRET.upper(), SECRET + "x", SECRET[:-1]):
        assert await reporter.post(reporter.update(text="hello"), secret=secret) == 403
    assert redis_client.keys("*") == []
    assert telegram_api.calls_of("sendMessage") == []


async def test_broken_and_oversized_bodies_get_400_and_413(reporter: TelegramPhone) -> None:
    statuses = await reporter.malformed()
    assert statuses == [400, 400, 400, 400, 400, 400, 413]


@pytest.mark.slow
async def test_a_flood_limit_is_waited_out_and_each_reply_sent_once(
    replying_reporter: TelegramPhone, telegram_api: TelegramApiDouble,
) -> None:
    reporter = replying_reporter
    telegram_api.fail_next("sendMessage", 429, retry_after=1)
    replies = await reporter.say("hello")
    assert expect("en", "consent.prompt") in joined(replies)
    assert len(replies) == len(set(replies)) == 2
    assert [c.status for c in telegram_api.calls_of("sendMessage")] == [429, 200, 200]
    response = await reporter.client.post(WEBHOOK, json=reporter.update(text="yes"),
                                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.content_type != "application/json", "after a flood limit, replies go by request: a refusal is seen"
    assert expect("en", "category.prompt") in joined(reporter.read(0))


async def test_by_default_every_reply_to_a_message_goes_by_request(
    reporter: TelegramPhone, telegram_api: TelegramApiDouble,
) -> None:
    mark = telegram_api.mark()
    response = await reporter.client.post(WEBHOOK, json=reporter.update(text="hello"),
                                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status == 200 and response.content_type != "application/json"
    assert [c.status for c in telegram_api.calls_of("sendMessage", mark)] == [200, 200]


def test_webhook_replies_are_on_or_off(service_env: dict[str, str]) -> None:
    for value in ("on", "off", ""):
        TelegramAdapter(load_settings({**service_env, "TELEGRAM_WEBHOOK_REPLIES": value}))
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_REPLIES"):
        TelegramAdapter(load_settings({**service_env, "TELEGRAM_WEBHOOK_REPLIES": "sometimes"}))


async def test_the_last_reply_to_a_message_travels_in_the_webhooks_response_after_the_others(
    replying_reporter: TelegramPhone, telegram_api: TelegramApiDouble,
) -> None:
    reporter = replying_reporter
    mark = telegram_api.mark()
    response = await reporter.client.post(WEBHOOK, json=reporter.update(text="hello"),
                                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    call = await response.json()
    assert (call["method"], call["chat_id"]) == ("sendMessage", reporter.chat_id)
    assert expect("en", "consent.prompt") in call["text"] and call["reply_markup"]["inline_keyboard"]
    [posted] = telegram_api.calls_of("sendMessage", mark)
    assert expect("en", "consent.prompt") not in recorded_text(posted), "the welcome went first, by request"


def test_a_chat_is_erased_from_its_first_known_message_to_its_last() -> None:
    assert erasable_ids([9, 5, 7, 7]) == [5, 6, 7, 8, 9], "the replies between, whose ids were never told"
    assert erasable_ids([3, 10**6]) == [3, 10**6], "no conversation is numbered that far apart"
    assert erasable_ids([]) == []


async def test_a_reporter_who_blocked_the_bot_ends_cleanly(
    reporter: TelegramPhone, telegram_api: TelegramApiDouble, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    telegram_api.fail_next("sendMessage", 403)
    assert await reporter.say("hello") == []
    assert [c.status for c in telegram_api.calls_of("sendMessage")] == [403]
    assert "blocked" in caplog.text and reporter.sender not in caplog.text
    assert expect("en", "category.prompt") in joined(await reporter.say("yes"))


@pytest.mark.slow
async def test_later_messages_go_out_through_send(settings: Settings, telegram_api: TelegramApiDouble) -> None:
    adapter = TelegramAdapter(settings)
    telegram_api.fail_next("sendMessage", 429, retry_after=1)
    await adapter.send("5550001234", [Reply("Are you still there?")])
    telegram_api.fail_next("sendMessage", 403)
    await adapter.send("5550001234", [Reply("Your report is incomplete.")])
    sent = [(c.status, c.params["text"]) for c in telegram_api.calls_of("sendMessage")]
    assert sent == [(429, "Are you still there?"), (200, "Are you still there?"), (403, "Your report is incomplete.")]
    await adapter.close()


async def test_media_beyond_the_limits_is_refused(settings: Settings, telegram_api: TelegramApiDouble) -> None:
    adapter = TelegramAdapter(settings)
    limits = MediaLimits(max_bytes=1000, allowed_types=("image/jpeg",))
    small, _ = telegram_api.add_file(b"x" * 100)
    lying, _ = telegram_api.add_file(b"x" * 5000, report_size=100)
    assert await adapter.fetch_media(MediaRef("telegram", small, "photo", "image/jpeg", 100), limits) == (
        b"x" * 100, "image/jpeg")
    refused = [
        MediaRef("telegram", small, "photo", "image/jpeg", 5000),  # Telegram's file_size says too big
        MediaRef("telegram", lying, "photo", "image/jpeg", None),  # the bytes turn out too big
        MediaRef("telegram", small, "document", "application/x-msdownload", 100),
        MediaRef("telegram", "AgACunknown", "photo", "image/jpeg", 100),
        MediaRef("telegram", "../../etc/passwd", "photo", "image/jpeg", 100),
    ]
    for ref in refused:
        with pytest.raises(MediaRefused):
            await adapter.fetch_media(ref, limits)
    assert [c.params["file_id"] for c in telegram_api.calls_of("getFile")] == [small, lying, "AgACunknown"]
    await adapter.close()


@pytest.mark.slow
def test_set_webhook_registers_the_public_url_with_the_secret(
    service_env: dict[str, str], telegram_api: TelegramApiDouble,
) -> None:
    env = {**worker_env(service_env), "PUBLIC_BASE_URL": "https://tips.example.org"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "set-webhook"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    [call] = telegram_api.calls_of("setWebhook")
    assert call.params["url"] == "https://tips.example.org/webhooks/telegram"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert TOKEN not in result.stdout + result.stderr and SECRET not in result.stdout + result.stderr

    telegram_api.fail_next("setWebhook", 400)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "set-webhook"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1


async def test_a_conversation_can_be_erased_from_the_reporters_chat(
    settings: Settings, telegram_api: TelegramApiDouble,
) -> None:
    adapter = TelegramAdapter(settings)
    assert await delete_messages(adapter.api, 5550001234, [*range(1, 151), 7]) == 150
    batches = [c.params["message_ids"] for c in telegram_api.calls_of("deleteMessages")]
    assert batches == [list(range(1, 101)), list(range(101, 151))]
    assert {str(c.params["chat_id"]) for c in telegram_api.calls_of("deleteMessages")} == {"5550001234"}
    telegram_api.fail_next("deleteMessages", 403)
    assert await delete_messages(adapter.api, 5550001234, [1]) == 0
    await adapter.close()


@pytest.mark.parametrize("in_turn", [False, True], ids=["at-once", "one-after-the-other"])
async def test_an_album_gets_one_answer_after_its_last_photo(reporter: TelegramPhone, in_turn: bool) -> None:
    await reporter.say("hello")
    album = AlbumPhone(reporter, [photo(color) for color in ("green", "blue", "yellow")], in_turn=in_turn)
    replies = await album.photo(photo("red"))
    counts = [int(found.group(1)) for text in replies if (found := re.search(r"\((\d+)", text))]
    assert counts == [4] and len(replies) == 1, replies
    assert await reporter.say("hello again"), "the conversation goes on after the album"


@pytest.mark.parametrize("in_turn", [False, True], ids=["at-once", "one-after-the-other"])
async def test_an_album_with_a_caption_gets_one_answer_and_keeps_the_caption(
    reporter: TelegramPhone, in_turn: bool,
) -> None:
    await complete_report(reporter, [], stop_at="media")
    album = AlbumPhone(reporter, [photo(color) for color in ("green", "blue", "yellow")], in_turn=in_turn)
    replies = await album.photo(photo("red"), caption="the van at the back door")
    assert len(replies) == 1, replies
    await reporter.say(word("en", "done"))
    await reporter.say(word("en", "no"))
    review = joined(await reporter.say(word("en", "no")))
    assert expect("en", "review.prompt") in review and "the van at the back door" in review, review


async def test_an_album_with_a_file_too_large_says_so_once_in_its_one_answer(reporter: TelegramPhone) -> None:
    await complete_report(reporter, [], stop_at="media")
    group = str(random.randint(10**17, 10**18))
    sized = [reporter.photo_sizes(photo(color)) for color in ("red", "green", "blue", "yellow")]
    sized[0][-1]["file_size"] = 10**10  # Telegram says the first is far over MAX_MEDIA_BYTES
    mark = reporter.api.mark()
    statuses = await asyncio.gather(*(reporter.post(reporter.update(photo=sizes, media_group_id=group))
                                      for sizes in sized))
    assert statuses == [200] * 4
    replies = await reporter.read_when_quiet(mark)
    assert len([r for r in replies if expect("en", "media.refused") in r]) == 1, replies
    others = [r for r in replies if expect("en", "media.refused") not in r]
    assert len(others) == 1 and expect("en", "media.received") in others[0] and "3" in others[0], replies


@pytest.mark.slow
async def test_four_photos_sent_at_once_get_one_received_4_and_are_all_filed(
    reporter: TelegramPhone, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    await complete_report(reporter, [], stop_at="media")
    album = [photo(color) for color in ("red", "green", "blue", "yellow")]
    replies = await AlbumPhone(reporter, album[1:]).photo(album[0])
    assert len(replies) == 1 and expect("en", "media.received") in replies[0] and "4" in replies[0], replies
    mark = reporter.api.mark()
    await asyncio.sleep(0.5)  # several quiet times (ALBUM_QUIET_MS=150 in tests): nothing more comes
    assert reporter.read(mark) == []
    assert expect("en", "danger.prompt") in joined(await reporter.say(word("en", "done")))
    await reporter.say(word("en", "no"))
    assert expect("en", "review.prompt") in joined(await reporter.say(word("en", "no")))
    assert expect("en", "submitted.prompt") in joined(await reporter.say(word("en", "yes")))
    report = filed_report(service_env, store, analyst_key)
    assert sorted(stored_media(store, analyst_key, report)) == sorted(album)


async def test_at_the_end_the_reporter_can_erase_the_whole_chat_and_nothing_is_kept(
    reporter: TelegramPhone, telegram_api: TelegramApiDouble, redis_client: redis.Redis,
) -> None:
    await erase_the_whole_chat(reporter, telegram_api, redis_client)


async def test_with_webhook_replies_the_erase_still_reaches_every_message(
    replying_reporter: TelegramPhone, telegram_api: TelegramApiDouble, redis_client: redis.Redis,
) -> None:
    await erase_the_whole_chat(replying_reporter, telegram_api, redis_client)  # by id range


async def erase_the_whole_chat(reporter: TelegramPhone, telegram_api: TelegramApiDouble,
                               redis_client: redis.Redis) -> None:
    await complete_report(reporter, [photo()])
    assert reporter.buttons == ["erase_chat"], "the last message offers to erase the chat"
    assert any(expect("en", "erase.offer") in text for text in reporter.read(0))
    assert redis_client.keys("tl:e:*"), "the ids are kept (encrypted) while the offer stands"
    theirs = {m["message_id"] for m in [reporter.last["message"]]} if reporter.last else set()
    sent = {c.result["message_id"] for c in telegram_api.calls_of("sendMessage")
            if c.status == 200 and str(c.params["chat_id"]) == reporter.sender}

    mark = telegram_api.mark()
    assert await reporter.press(1) == []
    deleted = {i for c in telegram_api.calls_of("deleteMessages", mark) for i in c.params["message_ids"]}
    assert sent <= deleted, "every message the bot sent is erased"
    assert theirs <= deleted and set(range(1, max(theirs) + 1)) <= deleted, "and every message the reporter sent"
    assert not redis_client.keys("tl:e:*") and not redis_client.keys("tl:s:*")


async def test_delete_offers_to_erase_the_chat_too(reporter: TelegramPhone, redis_client: redis.Redis) -> None:
    await reporter.say("hello")
    await reporter.say("yes")
    replies = await reporter.say(word("en", "delete"))
    assert any(expect("en", "erase.offer") in text for text in replies)
    assert reporter.buttons == ["erase_chat"]
    assert not redis_client.keys("tl:s:*")


@pytest.mark.slow
async def test_replies_telegram_cannot_take_now_are_sent_later_by_a_worker(
    reporter: TelegramPhone, telegram_api: TelegramApiDouble, service_env: dict[str, str],
) -> None:
    for _ in range(4):  # every attempt the webhook makes meets a Bot API outage
        telegram_api.fail_next("sendMessage", 502)
    mark = telegram_api.mark()
    assert await reporter.say("hello") == []
    assert run_burst_worker(service_env).returncode == 0
    later = reporter.read(mark)
    assert any(expect("en", "welcome") in text for text in later), "the welcome arrives once Telegram is back"
    assert len([t for t in later if expect("en", "welcome") in t]) == 1


@pytest.mark.slow
async def test_replies_queued_during_an_outage_are_never_sent_after_the_reporter_deletes(
    reporter: TelegramPhone, telegram_api: TelegramApiDouble, service_env: dict[str, str],
) -> None:
    for _ in range(4):  # every attempt the webhook makes meets a Bot API outage: the welcome waits
        telegram_api.fail_next("sendMessage", 502)
    assert await reporter.say("hello") == []
    assert any(expect("en", "deleted") in text for text in await reporter.say("delete"))
    mark = telegram_api.mark()
    assert run_burst_worker(service_env).returncode == 0
    assert not any(expect("en", "welcome") in text for text in reporter.read(mark))

"""Redis format 2 (bot/compact.py; written by default, format 1 with REDIS_FORMAT=1): compact sessions
and one media status record per report, read side by side with format 1 and with what the first
release wrote, so a switch-over loses nothing; the worker files media from format-2 records as it does
from format-1 ones."""

from __future__ import annotations

import json
import secrets
import threading
import zlib
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from nacl.secret import SecretBox
from redis.asyncio import Redis as AsyncRedis

from adapters.base import MediaRef
from bot.app import make_app
from bot.compact import MARKER, pack, unpack
from bot.constants import MEDIA_STATUS_TTL
from bot.keys import RedisKeys
from bot.media_status import DISCARDED, MediaStatus, seal_status
from bot.sessions import Session, SessionStore
from config.settings import Settings, SettingsError, load_settings
from flows.conversation import Conversation
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from tests import test_privacy_at_rest as privacy
from tests.conftest import AnalystKey, run_burst_worker
from tests.media_samples import image
from tests.test_media_jobs import Jobs, upload

KEYS = RedisKeys()
ACCOUNT = "https://api.twilio.com/2010-04-01/Accounts/AC" + "3" * 32


def draft(photos: int) -> Session:
    media = [{"id": secrets.token_hex(16), "ref": {
        "channel": "twilio", "locator": f"{ACCOUNT}/Messages/MM{secrets.token_hex(16)}/Media/ME{secrets.token_hex(16)}",
        "kind": "photo", "content_type": "image/jpeg"}} for _ in range(photos)]
    conversation = Conversation("review", "en", {"consent": True, "category": "labour",
                                                 "description": ["Ten men sleep in the bakery's basement.",
                                                                 "Ünïcödé and عربي too."],
                                                 "location": "Main Street"}, media, ["consent", "category"],
                                country="GB")
    return Session(conversation, "+447900000001|+15005550006", "twilio", "sms", secrets.token_hex(16),
                   "2026-11-30T01:00:00+00:00", messages=7, last_message_at=1796000000.5,
                   provider_messages=["SM" + secrets.token_hex(16)])


def test_pack_reads_both_formats_and_refuses_anything_else() -> None:
    plaintext = draft(3).to_bytes()
    compact = pack(plaintext, compact=True)
    assert compact.startswith(MARKER) and unpack(compact) == plaintext
    assert unpack(pack(plaintext, compact=False)) == plaintext
    assert unpack(zlib.compress(plaintext, 1)) == plaintext  # what the first release wrote
    assert len(compact) < 0.85 * len(zlib.compress(plaintext, 1))
    for broken in (compact[:-3], compact + bytes(16), MARKER + b"not deflate", b"plain text"):
        with pytest.raises(zlib.error):
            unpack(broken)


@pytest.mark.parametrize("text", [
    "", "no ids", "a" * 31, "f" * 64, "0123456789abcdef" * 5, "ABCDEF0123456789" * 2, "€ " + "9" * 32 + " ü",
])
def test_format_2_gives_back_exactly_what_it_packed(text: str) -> None:
    ids = [secrets.token_hex(16) for _ in range(3)]
    plaintext = json.dumps({"t": text, "ids": ids + ids[::-1], "again": text}, ensure_ascii=False).encode()
    assert unpack(pack(plaintext, compact=True)) == plaintext
    with pytest.raises(ValueError):
        pack(b"\x01 is never in JSON text", compact=True)


def test_a_format_2_session_leaves_out_the_file_ids_it_can_derive_and_keeps_the_others() -> None:
    key = secrets.token_bytes(32)
    session = draft(1)  # one file with a random id, as the first release attached it
    for _ in range(3):
        session.attach_file(key, MediaRef("twilio", f"{ACCOUNT}/Messages/MM{secrets.token_hex(16)}", "photo"))
    ids = [entry["id"] for entry in session.conversation.media]
    assert len(set(ids)) == 4 and all(len(i) == 32 for i in ids)
    compact = session.to_bytes(key)
    assert ids[0].encode() in compact and not any(i.encode() in compact for i in ids[1:])
    assert Session.from_bytes(compact, key).to_bytes() == session.to_bytes()
    assert Session.from_bytes(session.to_bytes(), key).to_bytes() == session.to_bytes()
    other = draft(0)
    other.report_id = session.report_id
    assert other.attach_file(secrets.token_bytes(32), MediaRef("twilio", "x", "photo")).id != ids[1]  # keyed


@pytest.mark.parametrize("writer_compact", [False, True])
async def test_sessions_of_either_format_are_read_by_processes_of_either_setting(
    redis_url: str, writer_compact: bool,
) -> None:
    key = secrets.token_bytes(32)
    client = AsyncRedis.from_url(redis_url)
    try:
        writer = SessionStore(client, key, 600, compact=writer_compact)
        session = draft(2)
        await writer.save("who-a", session, message=1)
        for compact in (False, True):
            loaded = await SessionStore(client, key, 600, compact=compact).load("who-a")
            assert loaded is not None and loaded.to_bytes() == session.to_bytes()
        raw = await client.get(KEYS.session("who-a"))
        assert raw is not None and SecretBox(key).decrypt(raw).startswith(MARKER) == writer_compact
        assert b"Ten men" not in raw and b"+4479" not in raw
    finally:
        await client.aclose()


async def test_a_session_the_first_release_wrote_is_read_in_format_2(redis_url: str) -> None:
    key = secrets.token_bytes(32)
    session = draft(1)
    first_release = {"c": session.conversation.to_dict(), "a": session.address, "ch": "twilio", "k": "sms",
                     "r": session.report_id, "x": {}}  # v0.1.0: no "v", zlib level 1
    client = AsyncRedis.from_url(redis_url)
    try:
        await client.set(KEYS.session("who-b"), SecretBox(key).encrypt(zlib.compress(json.dumps(first_release)
                                                                                      .encode(), 1)))
        loaded = await SessionStore(client, key, 600, compact=True).load("who-b")
        assert loaded is not None and loaded.conversation.media == session.conversation.media
        assert loaded.address == session.address and loaded.report_id == session.report_id
    finally:
        await client.aclose()


def stored(media_id: str) -> dict[str, Any]:
    return {"id": media_id, "kind": "photo", "status": "stored", "object": f"media/{media_id}",
            "content_type": "image/jpeg", "size": 123456, "sha256": secrets.token_hex(32), "metadata": "removed"}


def test_format_2_keeps_one_record_per_report_that_reads_back_as_format_1_did(redis_client: redis.Redis) -> None:
    key = secrets.token_bytes(32)
    compact, plain = MediaStatus(redis_client, key, compact=True), MediaStatus(redis_client, key)
    report = secrets.token_hex(16)
    ids = [secrets.token_hex(16) for _ in range(5)]
    entries = {m: stored(m) for m in ids}
    entries[ids[4]] = {"id": ids[4], "kind": "photo", "status": "refused", "note": "not a picture"}
    threads = [threading.Thread(target=compact.claim, args=(m, entries[m], report)) for m in ids]
    for thread in threads:  # workers fetching an album at once: no entry lost to another's write
        thread.start()
    for thread in threads:
        thread.join()
    assert [k.decode() for k in redis_client.scan_iter("tl:m:*")] == [KEYS.media_statuses(report)]
    assert 0 < redis_client.ttl(KEYS.media_statuses(report)) <= MEDIA_STATUS_TTL
    for m in ids:
        assert compact.load(m, report) == entries[m] == plain.load(m, report)  # either setting reads it
    assert compact.load(ids[0]) is None  # a job without its report id finds only per-item records

    compact.mark_discarded(ids[1], report)
    assert not compact.claim(ids[1], stored(ids[1]), report) and compact.discarded(ids[1], report)
    assert not plain.claim(ids[1], stored(ids[1]), report)  # a format-1 process respects it too
    compact.forget(ids, report)
    assert list(redis_client.scan_iter("tl:m:*")) == []


def test_format_2_respects_and_finds_the_per_item_records_format_1_wrote(redis_client: redis.Redis) -> None:
    key = secrets.token_bytes(32)
    compact = MediaStatus(redis_client, key, compact=True)
    report, kept, wiped = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16)
    entry = stored(kept)
    redis_client.set(KEYS.media_status(kept), seal_status(key, entry))
    redis_client.set(KEYS.media_status(wiped), seal_status(key, DISCARDED))
    assert compact.load(kept, report) == entry
    assert not compact.claim(wiped, stored(wiped), report) and compact.discarded(wiped, report)
    compact.forget([kept, wiped], report)
    assert list(redis_client.scan_iter("tl:m:*")) == []


@pytest.mark.slow
async def test_the_worker_files_media_it_fetched_promptly_from_a_format_2_record(
    service_env: dict[str, str], redis_client: redis.Redis, store: FileStore, analyst_key: AnalystKey,
    aiohttp_client: Any,
) -> None:
    env = {**service_env, "REDIS_FORMAT": "2"}
    settings: Settings = load_settings(env)
    client: TestClient[Any, Any] = await aiohttp_client(make_app(settings))
    jobs = Jobs(env, redis_client)
    photos = [image("JPEG", color=c) for c in ("red", "blue")]
    media = [(secrets.token_hex(16), await upload(client, photo)) for photo in photos]
    report_id = secrets.token_hex(16)
    for media_id, upload_id in media:
        jobs.fetch(media_id, upload_id, report_id)
    assert run_burst_worker(env).returncode == 0
    assert [k.decode() for k in redis_client.scan_iter("tl:m:*")] == [KEYS.media_statuses(report_id)]

    for path in (settings.var_dir / "simulator" / "uploads").iterdir():
        path.unlink()  # the provider's links expired: filing must use what the record says
    jobs.file(report_id, media)
    assert run_burst_worker(env).returncode == 0
    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None
    for (media_id, _), item in zip(media, opened.report["media"], strict=True):
        assert item["id"] == media_id and item["status"] == "stored" and item["object"] == f"media/{media_id}"
        assert item["size"] == len(open_media(store, analyst_key.load(), media_id)) and len(item["sha256"]) == 64
    assert list(redis_client.scan_iter("tl:m:*")) == []


@pytest.mark.slow
@pytest.mark.redis_format(1)
async def test_nothing_at_rest_in_format_1_contains_report_text_sender_or_media(
    settings: Settings, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis, aiohttp_client: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    assert settings.redis_format == 1
    await privacy.test_nothing_written_at_rest_contains_report_text_sender_or_media(
        settings, service_env, store, analyst_key, redis_client, aiohttp_client, caplog)


def test_format_2_is_written_unless_an_operator_asks_for_format_1(service_env: dict[str, str]) -> None:
    without = {key: value for key, value in service_env.items() if key != "REDIS_FORMAT"}
    assert load_settings(without).redis_format == 2
    assert load_settings({**without, "REDIS_FORMAT": " 1 "}).redis_format == 1
    with pytest.raises(SettingsError, match="REDIS_FORMAT must be 1 or 2"):
        load_settings({**without, "REDIS_FORMAT": "3"})

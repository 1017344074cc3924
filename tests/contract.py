"""The adapter contract: one suite every channel passes, built-in or third-party.

Subclass `AdapterContract` in a test module and provide a `reporter` fixture returning a
`ContractChannel` for a new reporter (see tests/test_adapter_simulator.py). The suite drives a
whole report through the real web app, a real RQ worker and the sealed store.
"""

from __future__ import annotations

import io
import logging
from typing import Protocol

import pytest
import redis
from PIL import Image

from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from tests.conftest import AnalystKey, run_burst_worker
from tests.scenario import Channel, begin_report, complete_report, shows


class ContractChannel(Channel, Protocol):
    """What the contract needs beyond a reporter's phone."""

    sender: str
    """The reporter's provider address (phone number, chat id) — must never be stored in clear.
    A driver may also list `identities`: names the provider sends (profile name, username) that
    must never be stored or logged either."""

    async def redeliver(self) -> list[str]:
        """Deliver the provider's last message again, as a provider retry would (same id)."""
        ...

    async def forged(self) -> int:
        """Send a request without valid authentication; return the HTTP status."""
        ...

    async def malformed(self) -> list[int]:
        """Send several malformed requests; return their HTTP statuses."""
        ...


def photo(color: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class AdapterContract:
    """The core suite; each adapter's test module subclasses it (like `transitions` variants)."""

    @pytest.mark.slow
    async def test_a_full_report_is_filed_with_its_media_intact(
        self, reporter: ContractChannel, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey
    ) -> None:
        photos = [photo("red"), photo("blue")]
        await complete_report(reporter, photos)
        result = run_burst_worker(service_env)
        assert result.returncode == 0, result.stderr[-2000:]
        [opened] = list_reports(store, analyst_key.load())
        assert opened.report is not None, opened.error
        report = opened.report
        assert report["status"] == "complete"
        assert report["answers"]["category"] == "labour"
        stored = [open_media(store, analyst_key.load(), m["id"]) for m in report["media"] if m["status"] == "stored"]
        assert stored == photos

    @pytest.mark.slow
    async def test_a_redelivered_message_is_processed_once(self, reporter: ContractChannel) -> None:
        await begin_report(reporter)
        first = await reporter.say("1")
        assert shows(first, "en", "description.prompt")
        again = await reporter.redeliver()
        assert not shows(again, "en", "description.prompt")
        assert shows(await reporter.say("a description"), "en", "messages.more")

    async def test_unauthenticated_requests_are_refused_and_leave_nothing(
        self, reporter: ContractChannel, redis_client: redis.Redis
    ) -> None:
        before = set(redis_client.keys("*"))
        assert await reporter.forged() == 403
        assert set(redis_client.keys("*")) == before

    async def test_malformed_requests_get_a_4xx(self, reporter: ContractChannel, redis_client: redis.Redis) -> None:
        statuses = await reporter.malformed()
        assert statuses and all(400 <= s < 500 for s in statuses), statuses

    @pytest.mark.slow
    async def test_no_sender_address_is_written_to_redis_store_or_logs(
        self, reporter: ContractChannel, service_env: dict[str, str], store: FileStore,
        redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        await complete_report(reporter, [photo()])
        await reporter.say("hello again")  # a live session exists while we look
        result = run_burst_worker(service_env)
        assert result.returncode == 0
        digits = reporter.sender.lstrip("+").removeprefix("whatsapp:+")
        secrets = [s.encode() for s in {reporter.sender, digits, *getattr(reporter, "identities", ())}]

        def clean(blob: bytes) -> bool:
            return not any(secret in blob for secret in secrets)

        for key in redis_client.keys("*"):
            assert clean(key), key
            kind = redis_client.type(key)
            values: list[bytes] = []
            if kind == b"string":
                values = [redis_client.get(key) or b""]
            elif kind == b"hash":
                values = [v for pair in redis_client.hgetall(key).items() for v in pair]
            elif kind in (b"list",):
                values = redis_client.lrange(key, 0, -1)
            elif kind in (b"set",):
                values = list(redis_client.smembers(key))
            elif kind == b"zset":
                values = [m for m, _ in redis_client.zrange(key, 0, -1, withscores=True)]
            assert all(clean(value) for value in values), key
        for path in store.root.rglob("*"):
            if path.is_file():
                assert clean(path.read_bytes()), path
        logs = (caplog.text + result.stdout + result.stderr).encode()
        assert clean(logs)

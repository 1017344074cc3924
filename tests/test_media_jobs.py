"""The worker side of media and filing: prompt fetch, reuse at filing time, refusals, wiped drafts,
provider clean-up, the analyst notification and `tipline jobs`."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from bot.app import make_app
from bot.cli import main
from bot.jobs import Job, seal_payload
from bot.media_status import MediaStatus
from bot.queue import enqueue, make_queue
from config.settings import Settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from secure_store.report import now_iso
from tests.conftest import AnalystKey, run_burst_worker
from tests.media_samples import image
from tests.scenario import begin_report, expect
from tests.test_adapter_simulator import SimulatorPhone
from workers import notify


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


async def upload(client: TestClient[Any, Any], data: bytes, content_type: str = "image/jpeg") -> str:
    form = FormData()
    form.add_field("file", data, filename="f", content_type=content_type)
    response = await client.post("/simulator/api/upload", data=form)
    assert response.status == 200
    upload_id: str = (await response.json())["id"]
    return upload_id


class Jobs:
    """Enqueue jobs exactly as the web process does (sealed payloads, stable ids)."""

    def __init__(self, env: dict[str, str], connection: redis.Redis) -> None:
        self.key = base64.b64decode(env["SESSION_KEY"])
        self.queue = make_queue(connection, env["QUEUE_NAME"])

    def fetch(self, media_id: str, upload_id: str, report_id: str | None = None) -> None:
        item = {"id": media_id, "ref": {"channel": "simulator", "locator": upload_id, "kind": "photo"},
                "report_id": report_id}
        enqueue(self.queue, Job.FETCH_MEDIA, seal_payload(self.key, item), f"media-{media_id}")

    def file(self, report_id: str, media: list[tuple[str, str]]) -> None:
        draft = {"report_id": report_id, "status": "complete", "urgent": True, "channel": "sms", "language": "en",
                 "submitted_at": now_iso(), "answers": {"description": "a van at night"},
                 "media": [{"id": m, "ref": {"channel": "simulator", "locator": u, "kind": "photo"}}
                           for m, u in media]}
        enqueue(self.queue, Job.FILE_REPORT, seal_payload(self.key, draft), f"file-{report_id}")

    def discard(self, media: list[tuple[str, str]]) -> None:
        items = [{"id": m, "ref": {"channel": "simulator", "locator": u, "kind": "photo"}} for m, u in media]
        enqueue(self.queue, Job.DISCARD_DRAFT, seal_payload(self.key, {"media": items}), f"discard-{media[0][0]}")


def uploads(settings: Settings) -> Path:
    return settings.var_dir / "simulator" / "uploads"


@pytest.mark.slow
async def test_media_fetched_promptly_are_filed_even_after_the_provider_link_expired(
    client: TestClient[Any, Any], service_env: dict[str, str], settings: Settings, store: FileStore,
    analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    jobs = Jobs(service_env, redis_client)
    photo = image("JPEG")
    upload_id = await upload(client, photo)
    media_id, report_id = secrets.token_hex(16), secrets.token_hex(16)
    jobs.fetch(media_id, upload_id, report_id)
    assert run_burst_worker(service_env).returncode == 0
    assert store.exists(f"media/{media_id}")
    assert MediaStatus(redis_client, settings.session_key).load(media_id, report_id) is not None
    assert not list(store.names("reports/"))

    for path in uploads(settings).glob(f"{upload_id}*"):
        path.unlink()  # the provider's link expired: filing must use what was already stored
    jobs.file(report_id, [(media_id, upload_id)])
    assert run_burst_worker(service_env).returncode == 0

    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None and opened.report["urgent"] is True
    [item] = opened.report["media"]
    assert item["status"] == "stored" and item["metadata"] == "removed"
    assert item["size"] == len(open_media(store, analyst_key.load(), media_id))
    assert MediaStatus(redis_client, settings.session_key).load(media_id, report_id) is None  # forgotten once filed


@pytest.mark.slow
async def test_filing_fetches_media_itself_when_the_prompt_fetch_has_not_run_and_deletes_provider_copies(
    client: TestClient[Any, Any], service_env: dict[str, str], settings: Settings, store: FileStore,
    analyst_key: AnalystKey, redis_client: redis.Redis,
) -> None:
    jobs = Jobs(service_env, redis_client)
    media = [(secrets.token_hex(16), await upload(client, image("PNG", color=c))) for c in ("red", "blue")]
    jobs.file(secrets.token_hex(16), media)
    assert run_burst_worker(service_env).returncode == 0
    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None
    assert [m["status"] for m in opened.report["media"]] == ["stored", "stored"]
    # the simulator's discard_media is the provider DELETE: nothing of these uploads is left there
    assert list(uploads(settings).iterdir()) == []


@pytest.mark.slow
async def test_unsupported_and_oversized_media_become_notes_in_the_report_not_failures(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis,
) -> None:
    jobs = Jobs(service_env, redis_client)
    fake = (secrets.token_hex(16), await upload(client, b"MZ\x90\x00 not a photo"))
    big = (secrets.token_hex(16), await upload(client, b"%PDF-1.7\n" + b"0" * 3000, "application/pdf"))
    good = (secrets.token_hex(16), await upload(client, image("JPEG")))
    env = {**service_env, "MAX_MEDIA_BYTES": "2048"}
    jobs.fetch(*fake)
    jobs.file(secrets.token_hex(16), [fake, big, good])
    result = run_burst_worker(env)
    assert result.returncode == 0, result.stderr
    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None
    entries = opened.report["media"]
    assert [m["status"] for m in entries] == ["refused", "refused", "stored"]
    assert "not accepted" in entries[0]["note"] and "larger" in entries[1]["note"]
    assert len(list(store.names("media/"))) == 1


@pytest.mark.slow
async def test_a_prompt_fetch_after_the_draft_was_wiped_stores_nothing(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, redis_client: redis.Redis,
) -> None:
    jobs = Jobs(service_env, redis_client)
    media = (secrets.token_hex(16), await upload(client, image("JPEG")))
    jobs.discard([media])
    jobs.fetch(*media)
    assert run_burst_worker(service_env).returncode == 0
    assert list(store.names("")) == []


@pytest.mark.slow
async def test_analysts_are_notified_with_a_signed_post_and_a_failed_notification_is_retried_not_refiled(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    aiohttp_server: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    answers = [503]

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=answers.pop(0) if answers else 204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    secret = "s3cret-for-analyst-hook"
    env = {**service_env, "ANALYST_WEBHOOK_URL": str(server.make_url("/hook")), "ANALYST_WEBHOOK_SECRET": secret}
    jobs = Jobs(service_env, redis_client)
    report_id = secrets.token_hex(16)
    jobs.file(report_id, [])
    assert (await asyncio.to_thread(run_burst_worker, env)).returncode == 0
    assert len(list_reports(store, analyst_key.load())) == 1
    assert len(received) == 1  # answered 503: the notification waits for a retry, the report is filed

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"notify-{report_id}  notify_analysts  retrying" in listed
    assert main(["jobs", "retry", "--all"]) == 0
    assert (await asyncio.to_thread(run_burst_worker, env)).returncode == 0

    assert len(received) == 2 and len(list_reports(store, analyst_key.load())) == 1
    headers, body = received[-1]
    event = json.loads(body)
    assert event == {"event": "report.filed", "report_id": report_id, "urgent": True, "channel": "sms",
                     "submitted_at": event["submitted_at"], "filed_at": event["filed_at"]}
    assert notify.verify(secret, headers[notify.TIMESTAMP_HEADER], body, headers[notify.SIGNATURE_HEADER])
    assert not notify.verify("another secret", headers[notify.TIMESTAMP_HEADER], body,
                             headers[notify.SIGNATURE_HEADER])


@pytest.mark.slow
async def test_failed_jobs_are_listed_without_payloads_and_rerun_on_request(
    service_env: dict[str, str], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    jobs = Jobs(service_env, redis_client)
    report_id = secrets.token_hex(16)
    jobs.file(report_id, [])
    queue = make_queue(redis_client, service_env["QUEUE_NAME"])
    job = queue.fetch_job(f"file-{report_id}")
    assert job is not None
    job.retries_left = 0  # fail for good at once instead of after hours of back-off
    job.save()
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    # a worker whose store setting is broken: the job fails and must stay visible
    assert run_burst_worker({**service_env, "STORE_URL": "s3://"}).returncode == 0
    assert not list(store.names(""))
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert f"file-{report_id}  file_report  failed" in out and "StoreError" in out
    assert "a van at night" not in out
    assert main(["jobs", "retry", f"file-{report_id}"]) == 0
    assert run_burst_worker(service_env).returncode == 0
    assert len(list_reports(store, analyst_key.load())) == 1
    assert main(["jobs", "retry", "no-such-job"]) == 1



@pytest.mark.slow
async def test_media_sent_in_a_conversation_are_fetched_and_sealed_before_the_report_is_confirmed(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, redis_client: redis.Redis,
) -> None:
    phone = SimulatorPhone(client)
    await begin_report(phone)  # language and consent: nothing is fetched before the reporter agrees
    await phone.photo(image("JPEG"))
    assert run_burst_worker(service_env).returncode == 0
    assert len(list(store.names("media/"))) == 1, "sealed while the reporter is still writing"
    assert not list(store.names("reports/"))


@pytest.mark.slow
async def test_a_file_of_a_refused_type_gets_a_polite_reply_at_once_and_is_not_kept(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore,
) -> None:
    phone = SimulatorPhone(client)
    await phone.say("hello")
    phone.file_type, phone.file_kind = "application/x-msdownload", "document"
    replies = await phone.photo(b"MZ\x90\x00 not a document")
    assert expect("en", "media.refused") in "\n".join(replies)
    assert run_burst_worker(service_env).returncode == 0
    assert not list(store.names("media/"))


@pytest.mark.slow
async def test_a_file_only_the_worker_can_refuse_is_reported_to_the_reporter_while_they_write(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore,
) -> None:
    phone = SimulatorPhone(client)
    await begin_report(phone)
    replies = await phone.photo(b"this is not a picture at all")  # declared image/jpeg, so accepted at first
    assert expect("en", "media.refused") not in "\n".join(replies)
    assert run_burst_worker(service_env).returncode == 0
    outbox = await (await client.post("/simulator/api/outbox", json={"sender": phone.sender})).json()
    assert [r["text"] for r in outbox["replies"]] == [expect("en", "media.refused")]
    assert not list(store.names("media/"))

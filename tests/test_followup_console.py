"""The workspace's "Questions to the reporter": the thread on the report page and the "Ask the
reporter" form, over real HTTP against the workspace app (the same section and route `tipline console`
plugs in)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.console_followup import followup_routes, followup_section
from secure_store.backends import FileStore
from secure_store.console.app import Workspace, make_app
from secure_store.console.library import Library
from secure_store.filing import file_report
from secure_store.followup import DELIVERED, REQUEST_PREFIX, file_record, open_request, record
from secure_store.keys import parse_public_keys
from secure_store.report import SCHEMA_ID, now_iso
from tests.conftest import AnalystKey
from tests.followup_support import FollowUpKeys, filed_report, new_followup_keys

SMS = {"channel": "sms", "address": "+447700900123|+15005550006"}


async def open_workspace(store: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys,
                         aiohttp_client: Any) -> tuple[TestClient[Any, Any], Workspace]:
    library = Library(store, analyst_key.load(), "file", team=parse_public_keys([analyst_key.public]))
    library.refresh()
    workspace = Workspace(library)
    workspace.sections.insert(-2, followup_section(keys.public))
    workspace.routes.extend(followup_routes(keys.public))
    client = await aiohttp_client(make_app(workspace))
    workspace.port = client.server.port
    assert (await client.get(f"/?token={workspace.token}")).status == 200  # the one-time token, as a browser opens it
    return client, workspace


async def page(client: TestClient[Any, Any], report_id: str) -> str:
    response = await client.get(f"/report/{report_id}")
    assert response.status == 200
    return await response.text()


async def test_an_analyst_asks_from_the_report_page_and_sees_question_and_answer_as_one_thread(
    tmp_path: Path, analyst_key: AnalystKey, aiohttp_client: Any,
) -> None:
    store = FileStore(tmp_path / "store")
    keys = new_followup_keys()
    report = filed_report(store, analyst_key.public, SMS, submitted_at="2026-11-03T09:15:00+00:00")
    client, workspace = await open_workspace(store, analyst_key, keys, aiohttp_client)
    shown = await page(client, report["report_id"])
    assert "Questions to the reporter" in shown and "No questions yet." in shown
    assert 'action="/report/' + report["report_id"] + '/ask"' in shown
    assert "This is the report line you wrote to on" in shown  # the help says what the reporter sees

    sent = await client.post(f"/report/{report['report_id']}/ask", data={"question": "Is the van still there?"},
                             headers={"Origin": workspace.origin})
    assert sent.status == 200
    shown = await sent.text()
    assert "question sealed for the service" in shown and "waiting for a worker" in shown
    [name] = list(store.names(REQUEST_PREFIX))
    request, asked_by = open_request(store.get(name), keys.private, parse_public_keys([analyst_key.public]))
    assert request.address == SMS["address"] and request.question == "Is the van still there?"

    # what the worker leaves once it has delivered, and the reporter's answer as the engine files it
    store.delete(name)
    file_record(store, parse_public_keys([analyst_key.public]), record(request, asked_by, DELIVERED, now_iso()))
    answer = {"schema": SCHEMA_ID, "report_id": secrets.token_hex(16), "status": "addendum", "urgent": False,
              "channel": "sms", "language": "en", "started_at": now_iso(), "submitted_at": now_iso(),
              "filed_at": now_iso(), "answers": {"answer": ["Yes, every night"]}, "receipt_hash": None,
              "follow_up": None, "notes": [], "addendum_to": report["report_id"],
              "question_id": request.request_id, "media": []}
    file_report(store, parse_public_keys([analyst_key.public]), answer)
    workspace.library.refresh()
    shown = await page(client, report["report_id"])
    thread = shown[shown.index('id="questions"'):]
    assert thread.index("Is the van still there?") < thread.index("Yes, every night")
    assert "delivered" in thread and f'href="/report/{answer["report_id"]}"' in thread


async def test_no_form_without_consent_and_a_question_too_long_for_sms_is_refused(
    tmp_path: Path, analyst_key: AnalystKey, aiohttp_client: Any,
) -> None:
    store = FileStore(tmp_path / "store")
    keys = new_followup_keys()
    silent = filed_report(store, analyst_key.public, None)
    reachable = filed_report(store, analyst_key.public, SMS)
    client, workspace = await open_workspace(store, analyst_key, keys, aiohttp_client)
    shown = await page(client, silent["report_id"])
    assert "no question can be sent" in shown and "/ask" not in shown
    refused = await client.post(f"/report/{silent['report_id']}/ask", data={"question": "Anyone?"},
                                headers={"Origin": workspace.origin})
    assert "did not agree to follow-up" in await refused.text()
    too_long = await client.post(f"/report/{reachable['report_id']}/ask",
                                 data={"question": "Could you tell us more about the van? " * 14},
                                 headers={"Origin": workspace.origin})
    assert "too long for SMS" in await too_long.text()
    forged = await client.post(f"/report/{reachable['report_id']}/ask", data={"question": "Where are you?"},
                               headers={"Origin": "http://evil.example"})
    assert forged.status == 403
    assert list(store.names(REQUEST_PREFIX)) == []

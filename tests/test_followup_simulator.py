"""Follow-up on the dev simulator: the question reaches the simulator page's outbox and the answer
typed there is filed, as a developer would try it (README, "Asking the reporter a question")."""

from __future__ import annotations

from typing import Any

import redis

from bot.app import make_app
from bot.cli_followup import ask, thread
from config.settings import load_settings
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.chat import Phone
from tests.conftest import AnalystKey
from tests.followup_support import new_followup_keys, work
from tests.scenario import Script, complete_report, shows


async def test_a_simulator_reporter_is_asked_in_the_page_and_answers_there(
    service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, redis_client: redis.Redis,
    aiohttp_client: Any,
) -> None:
    keys = new_followup_keys()
    env = {**service_env, "FOLLOWUP_PRIVATE_KEY": keys.env}
    client = await aiohttp_client(make_app(load_settings(env)))
    reporter = Phone(client)
    await complete_report(reporter, [], Script(follow_up=True))
    work(env, redis_client)
    [report] = [o.report for o in list_reports(store, analyst_key.load()) if o.report]
    assert report["follow_up"]["adapter"] == "simulator"

    question = ask(store, analyst_key.load(), keys.public, report["report_id"], "Which street was it?")
    work(env, redis_client)
    response = await client.post("/simulator/api/outbox", json={"sender": reporter.sender})
    [shown] = (await response.json())["replies"]
    assert "Which street was it?" in shown["text"] and "DELETE" in shown["text"]

    assert shows(await reporter.say("Rue Victor Hugo, near the bakery"), "en", "followup.thanks")
    work(env, redis_client)
    entries = thread(store, analyst_key.load(), report["report_id"])
    assert [(e["kind"], e.get("status")) for e in entries] == [("question", "delivered"), ("answer", None)]
    assert entries[0]["id"] == question.request_id and entries[1]["text"] == "Rue Victor Hugo, near the bakery"

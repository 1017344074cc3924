"""The report conversation over the simulator, a real RQ worker and the sealed store: every
language, every global word from every step, review edits, urgency, follow-up, addenda."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import redis
from aiohttp.test_utils import TestClient
from PIL import Image

from bot.app import make_app
from bot.drafts import legacy_receipt_hash, new_receipt
from bot.media_status import DISCARDED, open_status, open_statuses
from config.settings import Settings
from flows.machine import ReportFlow, Said
from secure_store.analyst import list_reports
from secure_store.backends import FileStore
from tests.chat import Phone as Reporter
from tests.chat import texts
from tests.conftest import AnalystKey, run_burst_worker
from tests.scenario import LOCALES, Script, begin_report, complete_report, expect, shows, walk_to

SCRIPTS = {
    "en": Script(),
    "es": Script(language="es", description="Mujeres encerradas en un piso, sin pasaporte", place="Calle Mayor 3",
                 when="Desde enero", people="Un hombre con un coche rojo"),
    "fr": Script(language="fr", description="Des ouvriers dorment sur le chantier, payés rien", when="Hier soir",
                 people=None),
    "pt": Script(language="pt", description="Trabalhadores sem salário numa quinta", place="Estrada N2, Beja",
                 when="Agora", category_answer="Trabalho forcado"),
    "ar": Script(language="ar", description="عمال محبوسون في مستودع", place="الدار البيضاء", when="الآن"),
    "ro": Script(language="ro", description="Fete ținute într-un apartament", place="Strada Mare 5", when="Ieri",
                 category_answer="2", category_key="sexual"),
    "sq": Script(language="sq", description="Punëtorë pa pagë në një fermë", place="Rruga e Durrësit 10",
                 when="Dje", category_answer="punë e detyruar"),
    "vi": Script(language="vi", description="Các cô gái bị nhốt trong tiệm nail", place="Hà Nội", when="Hôm qua",
                 category_answer="1"),
    "uk": Script(language="uk", description="Жінок тримають в квартирі без паспортів", place="вул. Шевченка 5",
                 when="Зараз", category_answer="3", category_key="domestic"),
    "pl": Script(language="pl", description="Pracownicy śpią na budowie i nie dostają pensji", place="Warszawa",
                 when="Od marca", category_answer="praca przymusowa"),
}


def jpeg(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), color).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


def filed(store: FileStore, analyst_key: AnalystKey) -> list[dict[str, Any]]:
    reports = [r.report for r in list_reports(store, analyst_key.load())]
    assert all(r is not None for r in reports)
    return [r for r in reports if r is not None]


@pytest.mark.slow
async def test_a_scripted_report_in_every_language_is_filed(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    for script in SCRIPTS.values():
        receipt = await complete_report(Reporter(client), [jpeg()], script)
        assert receipt
    assert run_burst_worker(service_env).returncode == 0
    reports = {r["language"]: r for r in filed(store, analyst_key)}
    assert set(reports) == set(SCRIPTS) == set(LOCALES)
    for language, script in SCRIPTS.items():
        report = reports[language]
        assert report["status"] == "complete" and report["urgent"] is False
        assert report["answers"]["category"] == script.category_key
        assert report["answers"]["description"] == [script.description]
        assert report["answers"].get("people") == script.people
        assert [m["status"] for m in report["media"]] == ["stored"]


async def test_arabic_replies_are_marked_right_to_left(client: TestClient[Any, Any]) -> None:
    reporter = Reporter(client, language="ar")
    replies = await reporter.send("مرحبا")
    assert replies and all(r["rtl"] for r in replies)
    assert expect("ar", "consent.prompt") in replies[-1]["text"]


@pytest.mark.slow
async def test_immediate_danger_shows_local_numbers_and_files_an_urgent_report(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    reporter = Reporter(client)
    await walk_to(reporter, "danger")
    help_text = texts(await reporter.say("yes"))
    assert "112" in help_text and "911" in help_text  # no country known: what works almost anywhere, at once
    assert expect("en", "danger_country.prompt") in help_text
    local = texts(await reporter.say("I'm in Greece"))
    assert "1109" in local and "Greece" in local and expect("en", "follow_up.prompt") in local
    await reporter.say("yes")
    await reporter.say("yes")
    assert run_burst_worker(service_env).returncode == 0
    [report] = filed(store, analyst_key)
    assert report["urgent"] is True
    assert report["follow_up"] == {"channel": "simulator:whatsapp", "address": reporter.sender, "adapter": "simulator"}


async def test_uk_and_us_reporters_see_their_own_numbers(client: TestClient[Any, Any]) -> None:
    uk = Reporter(client, language="en-GB")
    await walk_to(uk, "danger")
    uk_help = texts(await uk.say("yes"))
    assert "999" in uk_help and "08000 121 700" in uk_help and "Modern Slavery" in uk_help
    us = Reporter(client, language="en-US")
    await walk_to(us, "danger")
    us_help = texts(await us.say("yes"))
    assert "911" in us_help and "233733" in us_help


@pytest.mark.slow
async def test_the_reporter_edits_a_numbered_field_from_the_review(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    reporter = Reporter(client)
    await walk_to(reporter, "review")
    assert expect("en", "location.prompt") in texts(await reporter.say("3"))
    review = texts(await reporter.say("Quai Perrache 8, Lyon"))
    assert "3. Where: Quai Perrache 8, Lyon" in review and expect("en", "review.prompt") in review
    assert expect("en", "description.prompt") in texts(await reporter.say("2"))
    await reporter.say("Now twelve men, not six")
    assert "2. What happened: Now twelve men, not six" in texts(await reporter.say("done"))
    assert expect("en", "danger.prompt") in texts(await reporter.say("6"))
    review = texts(await reporter.say("yes"))  # danger edited to yes: numbers shown, back to the review
    assert "112" in review and "6. Danger now: Yes" in review
    assert shows(await reporter.say("send"), "en", "submitted.prompt")
    assert run_burst_worker(service_env).returncode == 0
    [report] = filed(store, analyst_key)
    assert report["answers"]["location"] == "Quai Perrache 8, Lyon"
    assert report["answers"]["description"] == ["Now twelve men, not six"]
    assert report["urgent"] is True


@pytest.mark.slow
async def test_media_sent_at_any_step_is_kept(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
) -> None:
    reporter = Reporter(client)
    await begin_report(reporter)
    kept = texts(await reporter.photo(jpeg("blue")))
    assert "File kept with your report (1 in all)" in kept
    assert expect("en", "description.prompt") in texts(await reporter.photo(jpeg("green"), caption="1"))
    for answer in ("Men locked in", "done", "Lyon", "today", "skip", "done", "no", "no", "yes"):
        await reporter.say(answer)
    assert run_burst_worker(service_env).returncode == 0
    [report] = filed(store, analyst_key)
    assert len(report["media"]) == 2


STEPS = ["language", "consent", "category", "description", "location", "when", "people", "media", "danger",
         "follow_up", "review", "addendum"]


async def reach(reporter: Reporter, step: str) -> None:
    if step == "language":
        await reporter.say("hello")
    elif step == "consent":
        await reporter.say("hello")
        await reporter.say("English")
    elif step == "addendum":
        receipt = await complete_report(reporter, [])
        assert shows(await reporter.say(receipt.lower().replace("-", " ")), "en", "addendum.prompt")
    else:
        await walk_to(reporter, step)
    await reporter.photo(jpeg())  # something to wipe at every step


def prompt_of(step: str) -> str:
    return expect("en", f"{step}.prompt")


@pytest.mark.parametrize("step", STEPS)
async def test_global_words_work_from_every_step(client: TestClient[Any, Any], step: str) -> None:
    reporter = Reporter(client)
    await reach(reporter, step)
    answer = texts(await reporter.say("Help"))
    assert expect("en", "help.message") in answer and prompt_of(step) in answer

    answer = texts(await reporter.say("langauge"))  # a typo
    assert prompt_of("language") in answer and "1. English" in answer
    answer = texts(await reporter.say("Español"))
    here = "consent" if step == "language" else step  # choosing a language answers the language step
    assert expect("es", f"{here}.prompt") in answer  # back where they were, in Spanish
    answer = texts(await reporter.say("IDIOMA"))
    assert expect("es", "language.prompt") in answer
    assert prompt_of(here) in texts(await reporter.say("1"))

    answer = texts(await reporter.say("back"))
    if here in ("language", "addendum"):
        assert expect("en", "back.none") in answer
        now = here
    else:
        now = STEPS[STEPS.index(here) - 1]
        assert prompt_of(now) in answer and prompt_of(here) not in answer

    answer = texts(await reporter.say("RESTART"))
    assert expect("en", "restarted") in answer
    assert prompt_of("language" if now in ("language", "consent", "addendum") else "category") in answer


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("command", ["delete", "cancel"])
async def test_delete_and_cancel_end_the_conversation_from_every_step(
    client: TestClient[Any, Any], redis_client: redis.Redis, step: str, command: str,
) -> None:
    reporter = Reporter(client)
    await reach(reporter, step)
    answer = texts(await reporter.say(command.upper()))
    said = "deleted" if command == "delete" else "cancelled"
    assert expect("en", "deleted.filed" if step == "addendum" else said) in answer  # a filed report stays filed
    assert not [k for k in redis_client.keys("tl:s:*")]
    assert expect("en", "welcome") in texts(await reporter.say("hello"))  # a new conversation


@pytest.mark.slow
async def test_delete_leaves_nothing_of_the_conversation_in_redis_or_the_store(
    client: TestClient[Any, Any], redis_client: redis.Redis, service_env: dict[str, str], store: FileStore,
    settings: Settings,
) -> None:
    before = set(redis_client.keys("*"))
    reporter = Reporter(client)
    await walk_to(reporter, "media")
    for color in ("red", "blue"):
        await reporter.photo(jpeg(color))
    uploads = settings.var_dir / "simulator" / "uploads"
    assert len(list(uploads.iterdir())) == 4  # two files and their notes, at the "provider"
    assert shows(await reporter.say("delete"), "en", "deleted")
    assert run_burst_worker(service_env).returncode == 0

    left = {k for k in set(redis_client.keys("*")) - before}
    # only the de-duplication marks of handled messages (opaque HMACs, value "1"), the worker's
    # "discarded" tombstones of the wiped media (named by random ids) and RQ's own bookkeeping
    for key in left:
        if key.startswith(b"tl:m:r:"):  # Redis format 2: one record per report
            entries = open_statuses(settings.session_key, redis_client.get(key)).values()
            assert entries and all(entry == DISCARDED for entry in entries), key
        elif key.startswith(b"tl:m:"):
            assert open_status(settings.session_key, redis_client.get(key)) == DISCARDED, key
        elif key.startswith(b"tl:d:"):
            assert all(re.fullmatch(rb"-?[0-9]{1,19}", mark) for mark in redis_client.smembers(key)), key
        elif key.startswith(b"tl:x:"):  # when the pseudonym deleted: replies queued before are never sent
            assert re.fullmatch(rb"[0-9]+\.[0-9]+", redis_client.get(key) or b""), key
        elif key.startswith(b"tl:metrics:"):  # worker metrics: counts and times by job name, nothing else
            assert all(re.fullmatch(rb"[a-z_]+\|[a-z0-9.+]+|[a-z_]+\|\+Inf", f) for f in redis_client.hkeys(key)), key
        elif key.startswith(b"tl:"):
            assert key == b"tl:q:sweeper", key  # the quiet sweeper's claim: a random token
        else:
            assert key.startswith(b"rq:") and b"discard" not in key, key
            assert b"quiet" not in key or b"quiet-sweep" in key, key
    assert not redis_client.zrange("tl:q", 0, -1)
    assert all(j.startswith(b"quiet-sweep-") for j in redis_client.zrange("rq:scheduled:tipline-test", 0, -1))
    assert not list(store.names(""))
    assert not list(uploads.iterdir())


@pytest.mark.slow
async def test_a_receipt_code_adds_a_sealed_addendum_linked_to_the_report(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    redis_client: redis.Redis,
) -> None:
    reporter = Reporter(client)
    receipt = await complete_report(reporter, [])
    assert not [k for k in redis_client.keys("*") if receipt.encode() in k or receipt.replace("-", "").encode() in k]
    later = Reporter(client)  # another phone, days later
    assert shows(await later.say(f" {receipt.lower()} "), "en", "addendum.prompt")
    assert shows(await later.say("They moved the men to a farm near Vienne"), "en", "messages.more")
    await later.photo(jpeg("green"))
    assert shows(await later.say("done"), "en", "addendum_filed.prompt")
    assert shows(await Reporter(client).say("ABCD-EFGH-JKLM"), "en", "welcome")  # an unknown code: a new report
    assert run_burst_worker(service_env).returncode == 0
    reports = {r["status"]: r for r in filed(store, analyst_key)}
    assert reports["addendum"]["addendum_to"] == reports["complete"]["report_id"]
    assert reports["addendum"]["answers"] == {"addition": ["They moved the men to a farm near Vienne"]}
    assert len(reports["addendum"]["media"]) == 1


async def test_a_receipt_code_handed_out_before_receipts_were_hmacs_still_finds_its_report(
    client: TestClient[Any, Any], settings: Settings, redis_client: redis.Redis,
) -> None:
    """Until then, receipts were stored under their scrypt hash for 90 days (key `tl:rc:<hash>`)."""
    code = new_receipt()
    redis_client.set(f"tl:rc:{legacy_receipt_hash(code, settings.pseudonym_key)}", b"ab" * 16, ex=3600)
    assert shows(await Reporter(client).say(code), "en", "addendum.prompt")
    assert shows(await Reporter(client).say(new_receipt()), "en", "welcome")


async def test_unexpected_input_gets_a_short_reprompt_showing_what_is_accepted(client: TestClient[Any, Any]) -> None:
    reporter = Reporter(client)
    await reporter.say("hello")
    answer = texts(await reporter.say("Klingon"))
    assert expect("en", "reprompt.choice") in answer and "7. Română" in answer
    await reporter.say("english")
    answer = texts(await reporter.say("maybe"))
    assert expect("en", "reprompt.choice") in answer and "1. Yes\n2. No" in answer
    assert shows(await reporter.say("no"), "en", "declined.prompt")


@pytest.mark.parametrize("answer", [{"text": "Grecia"}, {"text": "اليونان"},
                                    {"location": {"latitude": 37.98, "longitude": 23.73}}])
async def test_a_reporter_in_danger_names_their_country_or_shares_a_pin_and_gets_its_numbers(
    client: TestClient[Any, Any], answer: dict[str, Any],
) -> None:
    reporter = Reporter(client, kind="telegram")
    await walk_to(reporter, "danger")
    assert expect("en", "danger_country.prompt") in texts(await reporter.say("yes"))
    local = texts(await reporter.send(**answer))
    assert "1109" in local and expect("en", "follow_up.prompt") in local


async def test_an_unknown_country_is_asked_again_once_and_skip_goes_on(client: TestClient[Any, Any]) -> None:
    reporter = Reporter(client)
    await walk_to(reporter, "danger")
    await reporter.say("yes")
    assert expect("en", "reprompt.country") in texts(await reporter.say("Atlantis"))
    assert expect("en", "follow_up.prompt") in texts(await reporter.say("skip"))


async def test_a_phone_country_is_not_asked_for() -> None:
    flow = ReportFlow()
    conversation = flow.new_conversation("en", "GB")
    conversation.state = "danger"
    replies = [reply.text for reply in flow.step(conversation, Said(text="yes")).replies]
    assert "999" in replies[0] and replies[1] == expect("en", "follow_up.prompt")

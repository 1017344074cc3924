"""`tipline reports ask` on an analyst's machine: what it refuses, and what it leaves in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.public import PrivateKey

from bot.cli import main
from secure_store.backends import FileStore
from secure_store.followup import REQUEST_PREFIX, open_request, pending_requests
from secure_store.keys import parse_public_key
from secure_store.seal import NotForThisKey, SealError
from tests.conftest import AnalystKey, make_analyst_key
from tests.followup_support import FollowUpKeys, filed_report, new_followup_keys

SMS_ADDRESS = "+447700900123|+15005550006"


@pytest.fixture
def keys() -> FollowUpKeys:
    return new_followup_keys()


@pytest.fixture
def analyst_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: FollowUpKeys) -> FileStore:
    """An analyst's machine: only the store and the follow-up public key, no service settings."""
    store = FileStore(tmp_path / "store")
    for name in ("REDIS_URL", "SESSION_KEY", "PSEUDONYM_KEY", "ANALYST_PUBLIC_KEYS", "TIPLINE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORE_URL", f"file://{store.root}")
    monkeypatch.setenv("FOLLOWUP_PUBLIC_KEY", keys.public)
    monkeypatch.chdir(tmp_path)
    return store


def ask(analyst_key: AnalystKey, report_id: str, question: str) -> int:
    return main(["reports", "ask", report_id, question, "--key", str(analyst_key.path)])


def requests_in(store: FileStore) -> list[bytes]:
    return [store.get(name) for name in store.names(REQUEST_PREFIX)]


def test_a_question_is_sealed_for_the_workers_and_the_asking_analyst_only(
    analyst_env: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = filed_report(analyst_env, analyst_key.public, {"channel": "sms", "address": SMS_ADDRESS})
    assert ask(analyst_key, report["report_id"], "Is the van  still there?\n\n\n\nWhich colour?") == 0
    assert "waiting for a worker" in capsys.readouterr().out
    [blob] = requests_in(analyst_env)
    assert b"447700900123" not in blob and b"van" not in blob

    analysts = [parse_public_key(analyst_key.public)]
    request, asked_by = open_request(blob, keys.private, analysts)
    assert request.report_id == report["report_id"]
    assert request.address == SMS_ADDRESS and request.channel == "sms" and request.adapter == "twilio"
    assert request.question == "Is the van still there?\n\nWhich colour?"
    assert request.reported_at == report["submitted_at"] and request.language == "en"
    assert asked_by == analysts[0].kid
    assert [r.request_id for r in pending_requests(analyst_env, analyst_key.load())] == [request.request_id]

    stranger = make_analyst_key(tmp_path / "stranger", "stranger")
    assert pending_requests(analyst_env, stranger.load()) == []
    with pytest.raises(SealError):
        open_request(blob, new_followup_keys().private, analysts)


def test_a_request_written_by_a_key_that_is_not_an_analysts_is_refused_by_workers(
    analyst_env: FileStore, analyst_key: AnalystKey, keys: FollowUpKeys, tmp_path: Path,
) -> None:
    """Anyone who can write to the store can drop a request; only analysts can make one count."""
    intruder = make_analyst_key(tmp_path / "intruder", "intruder")
    report = filed_report(analyst_env, intruder.public, {"channel": "sms", "address": "+447700900999|+1500"})
    assert ask(intruder, report["report_id"], "Where are you now?") == 0
    [blob] = requests_in(analyst_env)
    with pytest.raises(NotForThisKey):
        open_request(blob, keys.private, [parse_public_key(analyst_key.public)])
    with pytest.raises(SealError):
        open_request(blob.replace(b'"box":"', b'"box":"AAAA'), keys.private, [parse_public_key(intruder.public)])


def test_no_follow_up_consent_is_refused_with_a_clear_message_and_nothing_written(
    analyst_env: FileStore, analyst_key: AnalystKey, capsys: pytest.CaptureFixture[str],
) -> None:
    report = filed_report(analyst_env, analyst_key.public, None)
    assert ask(analyst_key, report["report_id"], "Is the van still there?") == 1
    error = capsys.readouterr().err
    assert "did not agree to follow-up" in error and report["report_id"] in error
    assert requests_in(analyst_env) == []


def test_a_question_too_long_for_sms_is_refused_at_once_with_the_limit(
    analyst_env: FileStore, analyst_key: AnalystKey, capsys: pytest.CaptureFixture[str],
) -> None:
    report = filed_report(analyst_env, analyst_key.public, {"channel": "sms", "address": SMS_ADDRESS})
    assert ask(analyst_key, report["report_id"], "Could you tell us more about the van? " * 14) == 1
    assert "too long for SMS" in capsys.readouterr().err
    assert requests_in(analyst_env) == []
    telegram = filed_report(analyst_env, analyst_key.public, {"channel": "telegram", "address": "5551234"})
    assert ask(analyst_key, telegram["report_id"], "Could you tell us more about the van? " * 14) == 0


def test_without_the_follow_up_public_key_the_analyst_is_told_where_it_comes_from(
    analyst_env: FileStore, analyst_key: AnalystKey, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("FOLLOWUP_PUBLIC_KEY")
    report = filed_report(analyst_env, analyst_key.public, {"channel": "sms", "address": SMS_ADDRESS})
    assert ask(analyst_key, report["report_id"], "Is the van still there?") == 1
    assert "FOLLOWUP_PUBLIC_KEY is not set" in capsys.readouterr().err


def test_generate_followup_prints_both_halves(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "generate-followup"]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert set(lines) == {"FOLLOWUP_PRIVATE_KEY", "FOLLOWUP_PUBLIC_KEY"}
    assert parse_public_key(lines["FOLLOWUP_PUBLIC_KEY"])


def test_the_dev_run_has_a_follow_up_key_whose_public_half_analysts_can_read(tmp_path: Path) -> None:
    from config.dev import DEV_FOLLOWUP_PUBLIC, ensure_dev_settings
    from config.settings import load_settings

    dev = ensure_dev_settings(load_settings({"TIPLINE_VAR_DIR": str(tmp_path)}))
    again = ensure_dev_settings(load_settings({"TIPLINE_VAR_DIR": str(tmp_path)}))
    assert dev.followup_private_key and again.followup_private_key == dev.followup_private_key
    assert dev.pseudonym_key == again.pseudonym_key  # the other dev secrets are kept
    public = (tmp_path / DEV_FOLLOWUP_PUBLIC).read_text().strip()
    assert parse_public_key(public).public_key == FollowUpKeys(PrivateKey(dev.followup_private_key)).private.public_key
    tests = ensure_dev_settings(load_settings({"TIPLINE_ENV": "test", "TIPLINE_VAR_DIR": str(tmp_path / "t")}))
    assert tests.followup_private_key == b""  # test runs start no follow-up poll unless they ask for one

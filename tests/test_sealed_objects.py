"""Sealed objects are checked on every read: tampering, truncation and appended bytes are reported,
a stranger's key is told so, and the analyst CLI says each of these in one clear line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli import main
from secure_store.backends import FileStore
from secure_store.filing import file_media, file_report
from secure_store.keys import parse_public_keys
from secure_store.report import SCHEMA_ID, now_iso, report_name
from secure_store.seal import CHUNK, MAGIC, NotForThisKey, SealError, open_sealed, read_header, seal
from tests.conftest import AnalystKey, make_analyst_key

REPORT_ID = "0123456789abcdef0123456789abcdef"
MEDIA_ID = "fedcba9876543210fedcba9876543210"


def recipients(*keys: AnalystKey):  # type: ignore[no-untyped-def]
    return parse_public_keys([k.public for k in keys])


def sample_report(media: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"schema": SCHEMA_ID, "report_id": REPORT_ID, "status": "complete", "urgent": True, "channel": "sms",
            "language": "en", "submitted_at": now_iso(), "filed_at": now_iso(),
            "answers": {"description": "boarded-up windows"}, "media": media or []}


@pytest.fixture
def blob(analyst_key: AnalystKey) -> bytes:
    return seal(os.urandom(3 * CHUNK + 100), recipients(analyst_key), "media")


def damaged_variants(blob: bytes) -> dict[str, bytes]:
    _, body = read_header(blob)
    middle = body + 24 + CHUNK + 50
    flipped = bytearray(blob)
    flipped[middle] ^= 0x01
    header = blob.replace(b'"kind":"media"', b'"kind":"reprt"')
    chunk_end = body + 24 + 2 * (CHUNK + 17)
    return {
        "bit flipped in the body": bytes(flipped),
        "header edited": header,
        "truncated at a chunk boundary": blob[:chunk_end],
        "truncated mid-chunk": blob[:-10],
        "bytes appended": blob + b"\x00" * 5,
        "only the header left": blob[:body],
    }


def test_an_intact_object_opens_for_each_recipient_and_not_for_a_stranger(tmp_path: Path) -> None:
    first, second, stranger = (make_analyst_key(tmp_path / n, n) for n in ("a", "b", "c"))
    plaintext = os.urandom(2 * CHUNK)
    sealed = seal(plaintext, recipients(first, second), "media")
    assert sealed.startswith(MAGIC) and plaintext[:64] not in sealed
    assert open_sealed(sealed, first.load()) == ("media", plaintext)
    assert open_sealed(sealed, second.load()) == ("media", plaintext)
    with pytest.raises(NotForThisKey):
        open_sealed(sealed, stranger.load())


@pytest.mark.parametrize("damage", ["bit flipped in the body", "header edited", "truncated at a chunk boundary",
                                    "truncated mid-chunk", "bytes appended", "only the header left"])
def test_every_kind_of_damage_is_detected(blob: bytes, analyst_key: AnalystKey, damage: str) -> None:
    with pytest.raises(SealError):
        open_sealed(damaged_variants(blob)[damage], analyst_key.load())


def run_cli(args: list[str], store_root: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setenv("TIPLINE_ENV", "test")
    monkeypatch.setenv("TIPLINE_VAR_DIR", str(store_root.parent))
    monkeypatch.setenv("STORE_URL", f"file://{store_root}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(store_root.parent / "analyst-cache"))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_analyst_cli_names_a_wrong_key_a_missing_report_and_a_tampered_one(
    tmp_path: Path, analyst_key: AnalystKey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "store")
    file_media(store, recipients(analyst_key), MEDIA_ID, b"%PDF-1.7 evidence")
    media = [{"id": MEDIA_ID, "kind": "document", "status": "stored", "object": f"media/{MEDIA_ID}",
              "content_type": "application/pdf"}]
    assert file_report(store, recipients(analyst_key), sample_report(media))
    key = str(analyst_key.path)

    code, out, _ = run_cli(["reports", "show", REPORT_ID, "--key", key, "--media-dir", str(tmp_path / "m")],
                           store.root, monkeypatch, capsys)
    assert code == 0 and json.loads(out)["answers"] == {"description": "boarded-up windows"}
    assert (tmp_path / "m" / f"{MEDIA_ID}.pdf").read_bytes() == b"%PDF-1.7 evidence"
    code, out, _ = run_cli(["reports", "list", "--key", key], store.root, monkeypatch, capsys)
    assert code == 0 and REPORT_ID in out and "URGENT" in out

    stranger = make_analyst_key(tmp_path / "stranger")
    code, _, err = run_cli(["reports", "show", REPORT_ID, "--key", str(stranger.path)], store.root, monkeypatch, capsys)
    assert code == 1 and "not sealed to this key" in err
    code, _, err = run_cli(["reports", "show", "f" * 32, "--key", key], store.root, monkeypatch, capsys)
    assert code == 1 and "no report" in err
    code, _, err = run_cli(["reports", "show", REPORT_ID, "--key", str(tmp_path / "nope.json")],
                           store.root, monkeypatch, capsys)
    assert code == 1 and "no key file" in err

    path = store.root / report_name(REPORT_ID)
    path.write_bytes(path.read_bytes()[:-1])
    code, _, err = run_cli(["reports", "show", REPORT_ID, "--key", key], store.root, monkeypatch, capsys)
    assert code == 1 and "cannot be trusted" in err and err.count("\n") == 1
    # the sealed cache keeps the copy verified before the damage; --no-cache opens every object again
    code, out, _ = run_cli(["reports", "list", "--key", key], store.root, monkeypatch, capsys)
    assert code == 0 and REPORT_ID in out
    code, out, _ = run_cli(["reports", "list", "--key", key, "--no-cache"], store.root, monkeypatch, capsys)
    assert code == 1 and f"{REPORT_ID}  DAMAGED" in out
    code, out, err = run_cli(["reports", "export", "--key", key, "--no-cache"], store.root, monkeypatch, capsys)
    assert code == 1 and out == "" and f"report {REPORT_ID} not exported" in err


def test_a_tampered_media_object_stops_the_export_with_its_name(
    tmp_path: Path, analyst_key: AnalystKey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FileStore(tmp_path / "store")
    file_media(store, recipients(analyst_key), MEDIA_ID, b"%PDF-1.7 evidence")
    media = [{"id": MEDIA_ID, "kind": "document", "status": "stored", "content_type": "application/pdf"}]
    file_report(store, recipients(analyst_key), sample_report(media))
    media_path = store.root / "media" / MEDIA_ID
    flipped = bytearray(media_path.read_bytes())
    flipped[-3] ^= 0xFF
    media_path.write_bytes(bytes(flipped))
    code, _, err = run_cli(["reports", "export", "--key", str(analyst_key.path), "--media-dir", str(tmp_path / "m")],
                           store.root, monkeypatch, capsys)
    assert code == 1 and f"media {MEDIA_ID}" in err and "tampered" in err

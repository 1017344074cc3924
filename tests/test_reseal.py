"""Analyst keys over time, through the real service: reports filed by real workers are sealed to the
keys of the moment; adding or removing a key changes what new reports are sealed to; and
`tipline reports reseal`, run with one analyst's private key, re-seals older reports and media to
the current set, so a new analyst can read them and a removed one no longer can."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from bot.app import make_app
from bot.cli import main
from config.settings import Settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from secure_store.seal import read_header
from tests.chat import Phone
from tests.conftest import AnalystKey, make_analyst_key, run_burst_worker
from tests.scenario import Script, complete_report


def described(report: dict[str, Any]) -> str:
    """What the reporter wrote at the description step (one or several messages)."""
    text = report["answers"].get("description")
    return " ".join(text) if isinstance(text, list) else str(text)

@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(make_app(settings))  # type: ignore[no-any-return]


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), "purple").save(buffer, "JPEG")
    return buffer.getvalue()


async def file_one(client: TestClient[Any, Any], service_env: dict[str, str], keys: list[AnalystKey],
                   description: str, photos: list[bytes] | None = None) -> None:
    """A reporter confirms a report; a real worker with `ANALYST_PUBLIC_KEYS` = `keys` files it."""
    await complete_report(Phone(client), photos or [], Script(description=description))
    done = run_burst_worker({**service_env, "ANALYST_PUBLIC_KEYS": ",".join(k.public for k in keys)})
    assert done.returncode == 0, done.stderr


def readable(store: FileStore, key: AnalystKey) -> set[str]:
    return {described(o.report) for o in list_reports(store, key.load()) if o.report}


def reseal(key: AnalystKey, store: FileStore, to: list[AnalystKey], capsys: pytest.CaptureFixture[str],
           *extra: str) -> tuple[int, str, str]:
    code = main(["reports", "reseal", "--key", str(key.path), "--store", f"file://{store.root}",
                 "--to", ",".join(k.public for k in to), *extra])
    out = capsys.readouterr()
    return code, out.out, "".join(line for line in out.err.splitlines(True) if line.startswith("tipline: "))


async def test_adding_then_removing_an_analyst_with_reseal(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    first, newcomer = analyst_key, make_analyst_key(tmp_path / "newcomer-machine", "newcomer")
    await file_one(client, service_env, [first], "Filed before the newcomer joined", [photo()])
    await file_one(client, service_env, [first, newcomer], "Filed after the newcomer joined")
    assert readable(store, newcomer) == {"Filed after the newcomer joined"}  # new reports: the new set

    code, out, _ = reseal(first, store, [first, newcomer], capsys, "--dry-run")
    assert code == 0 and out.startswith("would re-seal 2, already sealed to these 2 key(s) 1,")  # report + photo
    assert readable(store, newcomer) == {"Filed after the newcomer joined"}  # a dry run changes nothing

    code, out, _ = reseal(first, store, [first, newcomer], capsys)
    assert code == 0 and out.startswith("re-sealed 2, already sealed to these 2 key(s) 1,")
    assert readable(store, newcomer) == {"Filed before the newcomer joined", "Filed after the newcomer joined"}
    old = next(o.report for o in list_reports(store, newcomer.load())
               if o.report and described(o.report) == "Filed before the newcomer joined")
    assert old is not None
    assert open_media(store, newcomer.load(), old["media"][0]["id"]).startswith(b"\xff\xd8")

    code, out, _ = reseal(first, store, [first, newcomer], capsys)
    assert code == 0 and out.startswith("re-sealed 0, already sealed to these 2 key(s) 3,")  # a re-run is harmless

    # the first analyst leaves: new reports no longer reach them, and the newcomer re-seals the rest
    await file_one(client, service_env, [newcomer], "Filed after the first analyst left")
    assert "Filed after the first analyst left" not in readable(store, first)
    code, out, _ = reseal(newcomer, store, [newcomer], capsys)
    assert code == 0 and out.startswith("re-sealed 3,")
    assert readable(store, first) == set()
    assert len(readable(store, newcomer)) == 3
    kids = {tuple(e["kid"] for e in read_header(store.get(name))[0]["to"]) for name in store.names("")}
    assert len(kids) == 1, "every object is sealed to exactly the newcomer's key"


async def test_reseal_refuses_to_lock_its_own_analyst_out_and_names_what_it_cannot_open(
    client: TestClient[Any, Any], service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    stranger = make_analyst_key(tmp_path / "elsewhere", "stranger")
    await file_one(client, service_env, [analyst_key], "Sealed to the first analyst only")

    code, _, err = reseal(analyst_key, store, [stranger], capsys)
    assert code == 1
    assert err == "tipline: your own key is not in the new set: you would lose access to every report\n"

    code, out, err = reseal(stranger, store, [stranger], capsys)
    assert code == 1 and out.startswith("re-sealed 0, already sealed to these 1 key(s) 0, not sealed to your key 1,")
    assert err.startswith("tipline: reports/") and "is not sealed to your key" in err
    assert readable(store, analyst_key) == {"Sealed to the first analyst only"}  # untouched

"""The workspace's web safety: token then cookie, own host only, changes only from its own pages,
strict headers on every answer, risky files downloaded (never rendered), names made by us."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secure_store.backends import FileStore
from secure_store.console.app import COOKIE, CSP, Workspace, make_app
from secure_store.console.library import Library
from secure_store.keys import parse_public_keys
from tests.conftest import AnalystKey
from tests.console_reports import file_samples, jpeg


async def open_workspace(tmp_path: Path, analyst_key: AnalystKey, aiohttp_client: Any) -> tuple[Any, Workspace,
                                                                                                  dict[str, str]]:
    store = FileStore(tmp_path / "store")
    team = parse_public_keys([analyst_key.public])
    ids = file_samples(store, team)
    library = Library(store, analyst_key.load(), "file", team=team)
    library.refresh()
    workspace = Workspace(library)
    client = await aiohttp_client(make_app(workspace))
    workspace.port = client.server.port
    return client, workspace, ids


async def test_nothing_opens_without_the_token_and_the_token_becomes_a_cookie(
    tmp_path: Path, analyst_key: AnalystKey, aiohttp_client: Any
) -> None:
    client, workspace, ids = await open_workspace(tmp_path, analyst_key, aiohttp_client)
    for path in ("/", f"/report/{ids['spanish']}", "/static/console.css", "/?token=wrong"):
        response = await client.get(path)
        assert response.status == 403, path
        assert response.headers["Content-Security-Policy"] == CSP
        assert "Hombres" not in await response.text()
    response = await client.get(f"/?token={workspace.token}", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    assert "HttpOnly" in response.headers["Set-Cookie"] and "SameSite=Strict" in response.headers["Set-Cookie"]
    again = await client.get(f"/?token={workspace.token}", allow_redirects=False,
                             cookies={f"{COOKIE}_{workspace.port}": ""})
    assert again.status == 403 and "already open" in await again.text()
    page = await client.get("/")
    assert page.status == 200 and "Hombres durmiendo" in await page.text()
    for name, value in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                        ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")):
        assert page.headers[name] == value
    assert "script-src" not in CSP and "default-src 'none'" in CSP  # no script at all, nothing from elsewhere

    elsewhere = await client.get("/", headers={"Host": f"evil.example:{workspace.port}"})
    assert elsewhere.status == 421
    forged = await client.post(f"/report/{ids['spanish']}/triage", data={"action": "status", "value": "closed"},
                               headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert forged.status == 403 and workspace.library.triage(ids["spanish"]).status == "new"
    unsigned = await client.post(f"/report/{ids['spanish']}/triage", data={"action": "status", "value": "closed"},
                                 allow_redirects=False)
    assert unsigned.status == 403
    own = await client.post(f"/report/{ids['spanish']}/triage", data={"action": "status", "value": "closed"},
                            headers={"Origin": workspace.origin}, allow_redirects=False)
    assert own.status == 303 and workspace.library.triage(ids["spanish"]).status == "closed"
    bad = await client.post(f"/report/{ids['spanish']}/triage", data={"action": "status", "value": "gone"},
                            headers={"Origin": workspace.origin})
    assert bad.status == 200 and "status must be one of" in await bad.text()
    assert (await client.get("/report/" + "0" * 32)).status == 404
    assert (await client.get("/?since=yesterday&page=x")).status == 200


async def test_images_and_audio_play_inline_risky_files_only_download(
    tmp_path: Path, analyst_key: AnalystKey, aiohttp_client: Any
) -> None:
    client, workspace, ids = await open_workspace(tmp_path, analyst_key, aiohttp_client)
    client.session.cookie_jar.update_cookies({f"{COOKIE}_{workspace.port}": workspace.session})
    spanish = workspace.library.entries[ids["spanish"]].report or {}
    photo, voice = spanish["media"]
    response = await client.get(f"/media/{ids['spanish']}/{photo['id']}")
    assert response.status == 200 and response.content_type == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert (await response.read())[:3] == jpeg()[:3]
    response = await client.get(f"/media/{ids['spanish']}/{voice['id']}")
    assert response.content_type == "audio/wav"
    download = await client.get(f"/media/{ids['spanish']}/{photo['id']}?download=1")
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="{photo["id"]}.jpg"')

    [svg] = (workspace.library.entries[ids["addition"]].report or {})["media"]
    risky = await client.get(f"/media/{ids['addition']}/{svg['id']}")
    assert risky.content_type == "application/octet-stream"
    assert risky.headers["Content-Disposition"].startswith("attachment;")
    assert risky.headers["Content-Disposition"].endswith('.bin"')
    assert risky.headers["X-Content-Type-Options"] == "nosniff"
    page = await (await client.get(f"/report/{ids['addition']}")).text()
    assert "<img" not in page and "download only" in page
    assert (await client.get(f"/media/{ids['english']}/{photo['id']}")).status == 404  # not that report's file

    media_file = tmp_path / "store" / "media" / voice["id"]
    media_file.write_bytes(media_file.read_bytes()[:-5])
    damaged = await client.get(f"/media/{ids['spanish']}/{voice['id']}")
    assert damaged.status == 502 and "DAMAGED" in await damaged.text()

    page = await (await client.get(f"/report/{ids['spanish']}")).text()
    assert "4815162342" not in page
    revealed = await client.post(f"/report/{ids['spanish']}/reveal", headers={"Origin": workspace.origin})
    assert "telegram:4815162342" in await revealed.text()
    history = workspace.library.triage(ids["spanish"]).history
    assert [h["action"] for h in history] == ["revealed follow-up"]

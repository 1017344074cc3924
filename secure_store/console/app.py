"""The workspace's web app: bound to 127.0.0.1, opened with a one-time token, strict headers.

The token in the printed address works once: it is exchanged for a session cookie (HttpOnly,
SameSite=Strict) and dropped from the address bar; every later request needs that cookie, compared
in constant time. Requests for another host name are refused (no DNS rebinding), state-changing
requests must come from the page itself (Origin), and every response forbids scripts, frames, other
origins and type sniffing. The private key stays inside `Library`; no page or file ever holds it.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from secure_store.backends import StoreError
from secure_store.console.export import csv_lines, file_name, jsonl_lines
from secure_store.console.inbox import Filters, inbox, parse_filters
from secure_store.console.inbox_page import filter_form, inbox_page
from secure_store.console.insights import charts
from secure_store.console.library import Entry, Library
from secure_store.console.pages import e, layout
from secure_store.console.report_page import INLINE_IMAGES, PLAYABLE, SECTIONS, ReportView, Section, report_page
from secure_store.console.triage import TriageError
from secure_store.console.vocabulary import Vocabulary
from secure_store.console.world_map import world_map
from secure_store.seal import SealError

HOST = "127.0.0.1"
COOKIE = "tipline_console"
"""Followed by the port: browsers keep cookies per host, not per port, and two workspaces may be open."""
STYLE = Path(__file__).with_name("console.css")
CSP = ("default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # else Chromium posts forms with `Origin: null`
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
MAX_FORM = 64 * 1024


@dataclass
class Workspace:
    """One analyst's open workspace: their library, labels, page sections and session secrets.

    A feature adds itself before `start`: a `Section` in `sections` (drawn on every report page, in
    order) and its form handlers in `routes` (behind the same token, host and origin checks)."""

    library: Library
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    sections: list[Section] = field(default_factory=lambda: list(SECTIONS))
    routes: list[web.RouteDef] = field(default_factory=list)
    author: str = ""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    port: int = 0
    spent: bool = False
    revealed: set[str] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def address(self) -> str:
        """The address to open once: it carries the one-time token."""
        return f"{self.origin}/?{urlencode({'token': self.token})}"

    def take_notices(self) -> list[str]:
        shown, self.notices = self.notices, []
        return shown


WORKSPACE = web.AppKey("workspace", Workspace)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _refuse(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=layout("Not allowed", f"<h1>{e(message)}</h1>"), content_type="text/html")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host, token/cookie and origin checks before any handler; strict headers on every answer."""
    try:
        response = await _checked(request, handler)
    except web.HTTPException as exc:
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    workspace = request.app[WORKSPACE]
    if request.host not in (f"{HOST}:{workspace.port}", f"localhost:{workspace.port}"):
        return _refuse(421, "This workspace answers only at its own address")
    if _same(request.cookies.get(f"{COOKIE}_{workspace.port}", ""), workspace.session):
        origin = request.headers.get("Origin")
        if request.method not in ("GET", "HEAD") and origin not in (workspace.origin,
                                                                    f"http://localhost:{workspace.port}"):
            return _refuse(403, "Changes are accepted only from the workspace's own pages")
        return await handler(request)
    if not workspace.spent and _same(request.query.get("token", ""), workspace.token):
        workspace.spent = True
        response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(f"{COOKIE}_{workspace.port}", workspace.session, httponly=True, samesite="Strict",
                            path="/")
        return response
    if workspace.spent:
        return _refuse(403, "This workspace is already open in another browser; restart `tipline console` "
                            "for a new address")
    return _refuse(403, "Open the address `tipline console` printed (it carries a one-time token)")


def _notices(workspace: Workspace, extra: list[str] | None = None) -> list[str]:
    return [*workspace.library.notices, *workspace.take_notices(), *(extra or [])]


async def show_inbox(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    filters, problems = parse_filters(request.query)
    html = inbox_page(workspace.library, workspace.vocabulary, filters, _notices(workspace, problems))
    return web.Response(text=html, content_type="text/html")


def _entry_or_404(workspace: Workspace, report_id: str):  # type: ignore[no-untyped-def]
    entry = workspace.library.entries.get(report_id)
    if entry is None:
        raise web.HTTPNotFound(text=layout("Not found", "<h1>No such report readable with your key</h1>"),
                               content_type="text/html")
    return entry


async def show_report(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    entry = _entry_or_404(workspace, request.match_info["report_id"])
    try:
        await asyncio.get_running_loop().run_in_executor(None, workspace.library.refresh_triage, entry.report_id)
    except StoreError as exc:
        workspace.notices.append(f"the team's latest triage could not be read: {exc}")
    view = ReportView(entry, workspace.library, workspace.vocabulary, entry.report_id in workspace.revealed)
    return web.Response(text=report_page(view, workspace.sections, _notices(workspace)), content_type="text/html")


async def _form(request: web.Request) -> dict[str, str]:
    if (request.content_length or 0) > MAX_FORM:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM, actual_size=request.content_length or 0)
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def record(workspace: Workspace, report_id: str, action: str, value: str = "") -> str | None:
    """Write a triage event for the team; a problem comes back as a one-line message for the page."""
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: workspace.library.record(report_id, action, value, workspace.author or None))
    except TriageError as exc:
        return str(exc)
    except (StoreError, SealError) as exc:
        return f"not saved: {exc}"
    return None


async def change_triage(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    entry = _entry_or_404(workspace, request.match_info["report_id"])
    form = await _form(request)
    problem = await record(workspace, entry.report_id, form.get("action", ""), form.get("value", ""))
    if problem:
        workspace.notices.append(problem)
    raise web.HTTPSeeOther(f"/report/{entry.report_id}#triage")


async def reveal_follow_up(request: web.Request) -> web.Response:
    """The follow-up address is shown only after this deliberate request, which the history records."""
    workspace = request.app[WORKSPACE]
    entry = _entry_or_404(workspace, request.match_info["report_id"])
    if (entry.report or {}).get("follow_up"):
        problem = await record(workspace, entry.report_id, "revealed follow-up")
        if problem:
            workspace.notices.append(problem)
        else:
            workspace.revealed.add(entry.report_id)
    raise web.HTTPSeeOther(f"/report/{entry.report_id}#follow-up")


async def media(request: web.Request) -> web.Response:
    """A report's file, decrypted on request. Only plain images and audio/video are ever inline, under a
    type from our own list; anything else (SVG, HTML, PDF, unknown) is a download named by us."""
    workspace = request.app[WORKSPACE]
    entry = _entry_or_404(workspace, request.match_info["report_id"])
    media_id = request.match_info["media_id"]
    item = next((m for m in (entry.report or {}).get("media", [])
                 if m.get("id") == media_id and m.get("status") == "stored"), None)
    if item is None:
        raise web.HTTPNotFound(text="no such file in this report")
    try:
        data = await asyncio.get_running_loop().run_in_executor(None, workspace.library.media, media_id)
    except (SealError, StoreError) as exc:
        return web.Response(status=502, text=f"DAMAGED: file {media_id} cannot be trusted: {exc}")
    ctype = str(item.get("content_type", ""))
    name = file_name(item)
    inline = ctype in INLINE_IMAGES + PLAYABLE and "download" not in request.query
    headers = {"Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"'}
    return web.Response(body=data, headers=headers,
                        content_type=ctype if ctype in INLINE_IMAGES + PLAYABLE else "application/octet-stream")


async def refresh(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    form = await _form(request)
    await refresh_library(workspace, recheck=form.get("recheck") == "1")
    raise web.HTTPSeeOther("/")


async def refresh_library(workspace: Workspace, recheck: bool = False) -> None:
    """Fetch what is new in the store (one refresh at a time), and say what happened. With `recheck`,
    every report is fetched and verified again instead of trusting the cache."""
    async with workspace.refreshing:
        try:
            done = await asyncio.get_running_loop().run_in_executor(None, workspace.library.refresh, recheck)
        except StoreError as exc:
            workspace.notices.append(f"the store could not be read: {exc}")
            return
    damaged = f", {done.damaged} DAMAGED" if done.damaged else ""
    what = "checked every report again" if recheck else "refreshed"
    workspace.notices.append(f"{what}: {done.opened} opened{damaged} in {done.seconds:.1f} s")


def _chosen(request: web.Request) -> tuple[Filters, list[Entry], list[str]]:
    filters, problems = parse_filters(request.query)
    return filters, inbox(request.app[WORKSPACE].library, filters), problems


def _page_of_chosen(request: web.Request, title: str,
                    render: Callable[[Workspace, Filters, list[Entry]], str]) -> web.Response:
    """A page of the reports the filter form chose (insights, map, export): heading, form, then `render`."""
    workspace = request.app[WORKSPACE]
    filters, entries, problems = _chosen(request)
    here = request.path
    body = (f"<h1>{e(title)}</h1>{filter_form(filters, workspace.library, workspace.vocabulary, here)}"
            f"{render(workspace, filters, entries)}")
    return web.Response(text=layout(title, body, here=here, notices=_notices(workspace, problems)),
                        content_type="text/html")


def _insights(workspace: Workspace, filters: Filters, entries: list[Entry]) -> str:
    figures = "".join(charts(entries, workspace.vocabulary))
    return f'<p class="count">{len(entries)} report(s)</p><div class="charts">{figures}</div>'


def _map(workspace: Workspace, filters: Filters, entries: list[Entry]) -> str:
    drawn, pins = world_map(workspace.library.places, entries)
    missing = "" if workspace.library.places else "<p>No boundary data shipped: dots only.</p>"
    return (f'<p class="count"><span id="pins">{pins}</span> of {len(entries)} report(s) have a shared location; '
            f"red: urgent. Drawn here from shipped boundary data: nothing is fetched.</p>{missing}{drawn}")


async def show_insights(request: web.Request) -> web.Response:
    return _page_of_chosen(request, "Insights", _insights)


async def show_map(request: web.Request) -> web.Response:
    return _page_of_chosen(request, "Map of shared locations", _map)


def _export_form(workspace: Workspace, filters: Filters, entries: list[Entry]) -> str:
    hidden = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in filters.query(page=1).items())
    return (f'<p class="count">{len(entries)} report(s) chosen.</p>'
            '<form method="get" action="/export.csv" class="export">' + hidden +
            '<label><input type="checkbox" name="follow_up" value="1"> include follow-up addresses '
            "(logged in each report's history)</label> "
            '<button formaction="/export.csv">Download CSV</button> '
            '<button formaction="/export.jsonl">Download JSONL</button></form>'
            "<p>CSV: one column per answer (English labels), follow-up, additions, triage status, tags, notes, "
            "and every file with its sha256. JSONL: each report as filed, with its additions, triage and files.</p>")


async def show_export(request: web.Request) -> web.Response:
    return _page_of_chosen(request, "Export", _export_form)


async def download_export(request: web.Request) -> web.StreamResponse:
    """Stream the chosen reports; with follow-up addresses, each report with one gets a history line first."""
    workspace = request.app[WORKSPACE]
    _, entries, _ = _chosen(request)
    follow_up = request.query.get("follow_up") == "1"
    if follow_up:
        for entry in entries:
            if (entry.report or {}).get("follow_up"):
                problem = await record(workspace, entry.report_id, "exported follow-up")
                if problem:
                    raise web.HTTPServiceUnavailable(text=f"export stopped, nothing written: {problem}")
    kind = request.match_info["kind"]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson; charset=utf-8",
        "Content-Disposition": f'attachment; filename="tipline-export-{stamp}.{kind}"'})
    response.headers.update(HEADERS)
    await response.prepare(request)
    lines = (csv_lines(entries, workspace.library, workspace.vocabulary, follow_up) if kind == "csv"
             else jsonl_lines(entries, workspace.library, follow_up))
    for line in lines:
        await response.write(line.encode())
    await response.write_eof()
    return response


async def static(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STYLE, headers={"Content-Type": "text/css"})


def make_app(workspace: Workspace) -> web.Application:
    """The workspace app, with the routes features added to `workspace.routes`."""
    app = web.Application(middlewares=[guard], client_max_size=MAX_FORM)
    app[WORKSPACE] = workspace
    app.add_routes([
        web.get("/", show_inbox),
        web.get("/report/{report_id:[0-9a-f]{32}}", show_report),
        web.post("/report/{report_id:[0-9a-f]{32}}/triage", change_triage),
        web.post("/report/{report_id:[0-9a-f]{32}}/reveal", reveal_follow_up),
        web.get("/media/{report_id:[0-9a-f]{32}}/{media_id:[0-9a-f]{32}}", media),
        web.post("/refresh", refresh),
        web.get("/insights", show_insights),
        web.get("/map", show_map),
        web.get("/export", show_export),
        web.get("/export.{kind:csv|jsonl}", download_export),
        web.get("/static/console.css", static),
        *workspace.routes,
    ])
    return app


async def start(workspace: Workspace, port: int = 0) -> web.AppRunner:
    """Serve on 127.0.0.1 only (port 0: any free port); `workspace.address()` is then the one to open."""
    runner = web.AppRunner(make_app(workspace), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    workspace.port = int(runner.addresses[0][1])
    return runner

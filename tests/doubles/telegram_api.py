"""A local Telegram Bot API: an aiohttp app on a real port, in its own thread.

It speaks the Bot API's wire format (`{"ok": true, "result": ...}`, errors with `error_code` and
`parameters.retry_after`) for the methods tipline uses, records every call, serves file bytes at
`/file/bot{token}/{path}`, and can be told to fail the next call of a method. Its own thread and
loop let a blocking caller (a test waiting for a worker subprocess) and the worker both reach it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Tipline", "username": "TiplineTestBot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    result: Any = None


@dataclass
class StoredFile:
    data: bytes
    path: str
    unique_id: str


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class TelegramApiDouble:
    token: str
    calls: list[Call] = field(default_factory=list)
    files: dict[str, StoredFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    """What setWebhook set (url, secret_token, allowed_updates); getWebhookInfo answers from it."""
    webhook_error: str = ""
    """Set to make getWebhookInfo report a delivery error, as Telegram words them."""
    pending_updates: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: dict[int, itertools.count[int]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # what tests tell the double ------------------------------------------------------------

    def add_file(self, data: bytes, suffix: str = "jpg", folder: str = "photos",
                 report_size: int | None = None) -> tuple[str, str]:
        """Keep bytes as Telegram would; return (file_id, file_unique_id). `report_size` makes
        getFile state a different `file_size` than the bytes served (a lying or stale size)."""
        file_id = "AgAC" + secrets.token_urlsafe(24)
        unique = "AQAD" + secrets.token_urlsafe(8)
        with self._lock:
            self.files[file_id] = StoredFile(data, f"{folder}/file_{len(self.files)}.{suffix}", unique)
            if report_size is not None:
                self._reported_sizes[file_id] = report_size
        return file_id, unique

    def fail_next(self, method: str, status: int, retry_after: int | None = None) -> None:
        descriptions = {403: "Forbidden: bot was blocked by the user", 429: "Too Many Requests: retry later",
                        400: "Bad Request: file is too big"}
        with self._lock:
            self.failures.setdefault(method, []).append(
                Failure(status, descriptions.get(status, "Error"), retry_after)
            )

    def next_message_id(self, chat_id: int) -> int:
        """The id of the next message in a chat: one numbering for both sides, as in a private chat."""
        with self._lock:
            return next(self._ids.setdefault(chat_id, itertools.count(1)))

    def calls_of(self, method: str, since: int = 0) -> list[Call]:
        with self._lock:
            return [c for c in self.calls[since:] if c.method == method]

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    # the server ----------------------------------------------------------------------------

    def __post_init__(self) -> None:
        self._reported_sizes: dict[str, int] = {}
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, name="telegram-api-double", daemon=True)

    def start(self) -> TelegramApiDouble:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Telegram API double did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = value if isinstance(value, str) else ""
            try:
                params[key] = json.loads(text) if text[:1] in "[{" else text
            except ValueError:
                params[key] = text
        return params

    def _record(self, method: str, params: dict[str, Any], status: int, result: Any = None) -> None:
        with self._lock:
            self.calls.append(Call(method, params, status, result))

    def _failure(self, method: str) -> Failure | None:
        with self._lock:
            queue = self.failures.get(method)
            return queue.pop(0) if queue else None

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.match_info["token"] != self.token:
            self._record(method, params, 401)
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        failure = self._failure(method)
        if failure is not None:
            self._record(method, params, failure.status)
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        if method == "getFile" and str(params.get("file_id", "")) not in self.files:
            self._record(method, params, 400)
            return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                                     status=400)
        answer = self._answer(method, params)
        if answer is None:
            self._record(method, params, 404)
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        self._record(method, params, 200, answer)
        return web.json_response({"ok": True, "result": answer})

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            message: dict[str, Any] = {
                "message_id": self.next_message_id(int(params["chat_id"])), "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return message
        if method == "setWebhook":
            with self._lock:
                self.webhook = {key: params[key] for key in ("url", "secret_token", "allowed_updates") if key in params}
            return True
        if method == "getWebhookInfo":
            return self._webhook_info()
        if method in ("answerCallbackQuery", "deleteWebhook", "deleteMessage", "deleteMessages"):
            return True
        if method == "getFile":
            file_id = str(params.get("file_id", ""))
            with self._lock:
                stored = self.files.get(file_id)
                size = self._reported_sizes.get(file_id)
            if stored is None:
                return None
            return {"file_id": file_id, "file_unique_id": stored.unique_id,
                    "file_size": len(stored.data) if size is None else size, "file_path": stored.path}
        return None

    def _webhook_info(self) -> dict[str, Any]:
        """WebhookInfo as the Bot API returns it: never the secret token, which it does not disclose."""
        with self._lock:
            info: dict[str, Any] = {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                                    "pending_update_count": self.pending_updates}
            if self.webhook.get("url"):
                info["max_connections"] = 40
                info["ip_address"] = "127.0.0.1"
            if "allowed_updates" in self.webhook:
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook_error:
                info["last_error_date"] = int(time.time()) - 60
                info["last_error_message"] = self.webhook_error
        return info

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        with self._lock:
            found = next((f for f in self.files.values() if f.path == path), None)
            self.downloads.append(path)
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found.data, content_type="application/octet-stream")


def recorded_text(call: Call) -> str:
    """A sent message as the reporter reads it: text, then inline buttons as numbered labels."""
    text = str(call.params.get("text", ""))
    markup = call.params.get("reply_markup") or {}
    buttons = [button for row in markup.get("inline_keyboard", []) for button in row]
    return text + "".join(f"\n{i}. {b['text']}" for i, b in enumerate(buttons, 1))

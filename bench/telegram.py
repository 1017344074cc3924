"""Telegram: tipline's full webhook path vs python-telegram-bot's `Application` + `ConversationHandler`.

Both get the same updates (many reporters walking the whole report flow: texts, a button press, a
photo) and reply through the same Bot API double. Each server, the double and this load generator
are separate processes. PTB runs as its docs show under another web server (`examples/
customwebhookbot`: the webhook puts the update on `Application.update_queue`, processed in order);
its conversation asks the same questions, one reply per update. A run ends when every update is
answered: tipline answers inside the webhook, PTB after its queue (its replies are counted at the
double; the load generator makes the Bot API call a webhook response may carry, as Telegram does).
Runs are interleaved and repeated; printed: updates/s and server CPU ms per update, medians
and ranges. Bar: tipline >= 2.0x PTB.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp

from bench.common import bench_environment, cpu_seconds, free_port, machine_load, profiled, spread, wait_for_port

TOKEN = "123456:bench-token-abcdefghijklmnopqrstuvwxyz"
SECRET = "bench-webhook-secret-0123456789"
SENDERS = 160
CONCURRENCY = 32
ROUNDS = 5
DESCRIPTION = "Men sleeping in the bakery basement, doors locked from outside, a grey van at 5 am"
# (kind, content): the whole flow as a reporter on Telegram walks it
SCRIPT: list[tuple[str, str]] = [
    ("text", "hello"), ("text", "English"), ("text", "yes"), ("press", "labour"), ("text", DESCRIPTION),
    ("text", "done"), ("text", "Rue de la Paix 12, Lyon"), ("text", "Every night since March"),
    ("text", "Two men, a white van"), ("photo", ""), ("text", "done"), ("text", "no"), ("text", "no"),
    ("text", "yes"),
]
PROMPTS = ["Choose your language", "Is it safe? Do you agree?", "What kind of activity?", "What happened?",
           "Where?", "When?", "Who? (vehicles, people)", "Photos, videos, voice notes?", "Is anyone in danger now?",
           "May we contact you?", "Here is your report. Send it?"]
RECEIPT = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")
MANY = {3, 7}  # PTB states that take several messages until "done" (description, media)


# -- the Bot API double ------------------------------------------------------------------------

def serve_double(port: int) -> None:
    from aiohttp import web

    ids = itertools.count(1)
    sent = {"sendMessage": 0}
    last: dict[str, dict[str, Any]] = {}
    me = {"id": 777000111, "is_bot": True, "first_name": "Bench", "username": "BenchBot"}

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if name == "getMe":
            return web.json_response({"ok": True, "result": me})
        if name == "sendMessage":
            sent["sendMessage"] += 1
            chat = int(params["chat_id"])
            markup = params.get("reply_markup")
            text = str(params.get("text", ""))
            seen = last.get(str(chat), {}).get("receipt", False)
            last[str(chat)] = {"text": text, "markup": json.loads(markup) if isinstance(markup, str) else markup,
                               "receipt": seen or bool(RECEIPT.search(text))}
            return web.json_response({"ok": True, "result": {
                "message_id": next(ids), "date": int(time.time()), "from": me,
                "chat": {"id": chat, "type": "private"}, "text": params.get("text", "")}})
        return web.json_response({"ok": True, "result": True})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(sent)

    async def last_reply(request: web.Request) -> web.Response:
        return web.json_response(last.get(request.match_info["chat"], {}))

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/stats", stats)
    app.router.add_get("/last/{chat}", last_reply)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- python-telegram-bot's own way ---------------------------------------------------------------

def serve_ptb(port: int, api: str) -> None:
    import warnings

    from aiohttp import web
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import (
        Application,
        CallbackQueryHandler,
        ContextTypes,
        ConversationHandler,
        MessageHandler,
        filters,
    )

    warnings.filterwarnings("ignore")
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton(k, callback_data=k)] for k in
                                    ("labour", "sexual", "domestic", "begging", "crime", "other")])

    def state(index: int) -> Any:
        async def step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            if update.callback_query is not None:
                await update.callback_query.answer()
            chat = update.effective_chat
            assert chat is not None
            text = update.effective_message.text if update.effective_message else None
            if index in MANY and (text or "").lower() != "done":
                await chat.send_message("Received. Send more, or DONE.")
                return index
            if index + 1 >= len(PROMPTS):
                await chat.send_message("Thank you. Your receipt code: ABCD-EFGH-JKLM.")
                return ConversationHandler.END
            await chat.send_message(PROMPTS[index + 1], reply_markup=buttons if index + 1 == 2 else None)
            return index + 1
        return step

    async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.effective_chat is not None
        await update.effective_chat.send_message(PROMPTS[0])
        return 0

    anything = filters.TEXT | filters.PHOTO | filters.LOCATION
    conversation = ConversationHandler(
        entry_points=[MessageHandler(anything, begin)],
        states={i: [MessageHandler(anything, state(i)), CallbackQueryHandler(state(i))] for i in range(len(PROMPTS))},
        fallbacks=[],
    )
    application = (Application.builder().token(TOKEN).base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
                   .updater(None).build())
    application.add_handler(conversation)

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return web.Response(status=403)
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response(text="ok")

    async def started(app: web.Application) -> None:
        await application.initialize()
        await application.start()

    async def stopped(app: web.Application) -> None:
        await application.stop()
        await application.shutdown()

    app = web.Application()
    app.router.add_post("/webhooks/telegram", webhook)
    app.on_startup.append(started)
    app.on_cleanup.append(stopped)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# -- the load generator ----------------------------------------------------------------------------

def updates_for(chat_id: int, update_ids: itertools.count[int]) -> list[dict[str, Any]]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana"}
    chat = {"id": chat_id, "type": "private", "first_name": "Ana"}
    message_ids = itertools.count(1)
    out = []
    for kind, content in SCRIPT:
        base = {"message_id": next(message_ids), "from": user, "chat": chat, "date": int(time.time())}
        if kind == "press":
            update = {"callback_query": {"id": str(random.randint(10**15, 10**16)), "from": user,
                                         "chat_instance": "-42", "data": content,
                                         "message": {**base, "from": {"id": 777000111, "is_bot": True,
                                                                      "first_name": "Bench"}, "text": "..."}}}
        elif kind == "photo":
            sizes = [{"file_id": f"AgAC{chat_id}x{w}", "file_unique_id": f"AQAD{chat_id}{w}", "width": w,
                      "height": w * 3 // 4, "file_size": w * 300} for w in (90, 320, 1280)]
            update = {"message": {**base, "photo": sizes}}
        else:
            update = {"message": {**base, "text": content}}
        out.append({"update_id": next(update_ids), **update})
    return out


async def drive(port: int, double: str, conversations: list[list[dict[str, Any]]]) -> float:
    """Each conversation's updates in order, CONCURRENCY conversations at a time; returns seconds.

    As Telegram does, a chat's next update goes only once the webhook answered the last one, and
    a Bot API call in the webhook's response is made (at the double) before it."""
    pending = list(conversations)
    url = f"http://127.0.0.1:{port}/webhooks/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as telegram:
        async def sender() -> None:
            while pending:
                for update in pending.pop():
                    async with session.post(url, json=update, headers=headers) as response:
                        call = await response.json() if response.content_type == "application/json" else None
                        if response.status != 200:
                            raise SystemExit(f"server answered {response.status}")
                    if call is not None:
                        async with telegram.post(f"{double}/bot{TOKEN}/{call.pop('method')}", json=call) as made:
                            await made.read()

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started


async def replies_at_double(double: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{double}/stats") as response:
        return int((await response.json())["sendMessage"])


async def last_reply(double: str, chat_id: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{double}/last/{chat_id}") as response:
        return dict(await response.json())



def one_run(kind: str, env: dict[str, str], double: str, chat_base: int) -> dict[str, float]:
    port = free_port()
    if kind == "tipline":
        command = [sys.executable, *profiled(), "-m", "bot.cli", "serve"]
    else:
        command = [sys.executable, "-m", "bench.telegram", "ptb", str(port), double]
    server = subprocess.Popen(command, env={**os.environ, **env, "PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        update_ids = itertools.count(chat_base)
        conversations = [updates_for(chat_base + n, update_ids) for n in range(SENDERS)]
        count = sum(len(c) for c in conversations)
        before_cpu, before_sent = cpu_seconds(server.pid), asyncio.run(replies_at_double(double))
        started = time.perf_counter()
        elapsed = asyncio.run(drive(port, double, conversations))
        if kind == "ptb":  # PTB answers the webhook at once and replies from its queue: wait for them
            while asyncio.run(replies_at_double(double)) - before_sent < count:
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.pid) - before_cpu
        final = asyncio.run(last_reply(double, chat_base))
        if not final.get("receipt"):
            raise SystemExit(f"{kind}: the walk did not end with a receipt; last reply: {final.get('text')!r}")
    finally:
        server.terminate()
        server.wait()
    return {"rate": count / elapsed, "cpu_ms": cpu * 1000 / count}


def main() -> None:
    print(f"machine load before: {machine_load()}")
    double_port = free_port()
    double = f"http://127.0.0.1:{double_port}"
    double_process = subprocess.Popen([sys.executable, "-m", "bench.telegram", "double", str(double_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    extra = {"CHANNELS": "telegram", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
             "TELEGRAM_API_BASE": double, "PUBLIC_BASE_URL": "http://127.0.0.1:8443"}
    try:
        wait_for_port(double_port)
        with bench_environment(**extra) as (_, env):
            runs: dict[str, list[dict[str, float]]] = {"ptb": [], "tipline": []}
            chat_base = 5_000_000_000
            for _ in range(ROUNDS):  # interleaved: a busy moment on the machine hits both alike
                for kind in runs:
                    chat_base += 10_000
                    runs[kind].append(one_run(kind, env, double, chat_base))
    finally:
        double_process.terminate()
        double_process.wait()
    updates = SENDERS * len(SCRIPT)
    print(f"{updates} updates per run ({SENDERS} reporters x {len(SCRIPT)} updates: texts, a button, a photo), "
          f"{CONCURRENCY} at once; {ROUNDS} interleaved runs each, median [min-max]")
    for kind, results in runs.items():
        rates, cpus = [r["rate"] for r in results], [r["cpu_ms"] for r in results]
        label = "PTB Application + ConversationHandler" if kind == "ptb" else "tipline full path"
        print(f"  {label:38s} {statistics.median(rates):7.0f} updates/s {spread(rates, '.0f')}   "
              f"server CPU {statistics.median(cpus):5.2f} ms/update {spread(cpus, '.2f')}")
    ratios = [t["rate"] / p["rate"] for t, p in zip(runs["tipline"], runs["ptb"], strict=True)]
    cpu_ratios = [p["cpu_ms"] / t["cpu_ms"] for t, p in zip(runs["tipline"], runs["ptb"], strict=True)]
    print(f"  ratio tipline/PTB updates/s: {statistics.median(ratios):.2f} {spread(ratios, '.2f')} (bar: 2.0); "
          f"by CPU per update: {statistics.median(cpu_ratios):.2f} {spread(cpu_ratios, '.2f')}")
    print(f"machine load after: {machine_load()}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "double":
        serve_double(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "ptb":
        serve_ptb(int(sys.argv[2]), sys.argv[3])
    else:
        main()

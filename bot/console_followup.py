"""Follow-up in the analysts' workspace: the report page's question-and-answer thread and its
"Ask the reporter" form (docs/follow-up.md). Plugged into `tipline console` as one more section and
one route, so the workspace itself (secure_store/console) stays free of the service's flows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.cli_followup import ask, thread
from secure_store.backends import StoreError
from secure_store.console.app import WORKSPACE
from secure_store.console.pages import e
from secure_store.console.report_page import ReportView, Section
from secure_store.followup import MAX_QUESTION_CHARS, QuestionRefused
from secure_store.seal import SealError

STATUS_WORDS = {"waiting": "waiting for a worker", "delivered": "delivered", "not_delivered": "NOT delivered"}
HOW_IT_WORKS = (
    "The question goes, sealed, to the service's workers, who send it to the reporter on the channel and in the "
    "language of the report, opening with “This is the report line you wrote to on &lt;date&gt;. Our team asks: …” "
    "and ending “Reply here to answer, or send DELETE to erase.” Nobody else learns the address. The reporter's "
    "reply is filed as an addition to this report and shows here; if they send DELETE they are never asked again. "
    "Short plain questions work best: SMS allows about 600 plain letters with the opening."
)


def _entry_html(report_id: str, entry: dict[str, Any]) -> str:
    at = e(str(entry.get("at", ""))[:16].replace("T", " "))
    if entry["kind"] == "question":
        reason = f": {e(entry['reason'])}" if entry.get("reason") else ""
        status = e(STATUS_WORDS.get(str(entry["status"]), entry["status"]))
        return (f'<li class="question"><strong>Question</strong> <small>{at} UTC</small>'
                f'<p dir="auto">{e(entry["text"])}</p><p class="status {e(entry["status"])}">{status}{reason}</p></li>')
    if entry["kind"] == "answer":
        files = f" · {entry['media']} file(s)" if entry["media"] else ""
        notes = "".join(f'<p class="note">{e(note)}</p>' for note in entry["notes"])
        text = f'<p dir="auto">{e(entry["text"])}</p>' if entry["text"] else ""
        return (f'<li class="answer"><strong>Reporter</strong> <small>{at} UTC</small> · '
                f'<a href="/report/{e(entry["id"])}">addition</a>{files}{text}{notes}</li>')
    return f'<li class="damaged">DAMAGED follow-up record {e(entry["id"])}: {e(entry["text"])}</li>'


def followup_section(followup_key: str) -> Section:
    """The "Questions to the reporter" section: the thread, then the form where follow-up was agreed."""

    def render(view: ReportView) -> str:
        report_id = view.entry.report_id
        additions = [view.library.entries[a].report or {} for a in view.entry.additions
                     if a in view.library.entries]
        try:
            entries = thread(view.library.store, view.library.key, report_id, additions)
        except StoreError as exc:
            entries = [{"kind": "damaged", "id": "-", "text": f"the store could not be read: {exc}"}]
        listed = "".join(_entry_html(report_id, entry) for entry in entries) or "<li>No questions yet.</li>"
        if not view.report.get("follow_up"):
            form = "<p>The reporter did not agree to be contacted: no question can be sent.</p>"
        elif not followup_key:
            form = ("<p>To ask the reporter a question, set <code>FOLLOWUP_PUBLIC_KEY</code> (your operator has it) "
                    "and restart the workspace.</p>")
        else:
            form = (f'<form method="post" action="/report/{e(report_id)}/ask"><label>Ask the reporter '
                    f'<textarea name="question" rows="3" maxlength="{MAX_QUESTION_CHARS}" required dir="auto">'
                    '</textarea></label> <button>Send the question</button></form>'
                    f'<p class="help">{HOW_IT_WORKS}</p>')
        return (f'<section id="questions"><h2>Questions to the reporter</h2><ol class="thread">{listed}</ol>'
                f"{form}</section>")

    return Section("questions", render)


def followup_routes(followup_key: str) -> list[web.RouteDef]:
    """`POST /report/<id>/ask`: seal the question for the workers; the page says what happened."""

    async def ask_reporter(request: web.Request) -> web.Response:
        workspace = request.app[WORKSPACE]
        report_id = request.match_info["report_id"]
        if report_id not in workspace.library.entries:
            raise web.HTTPNotFound(text="no such report readable with your key")
        form = await request.post()
        question = form.get("question")
        if not followup_key:
            workspace.notices.append("question not sent: FOLLOWUP_PUBLIC_KEY is not set")
        elif not isinstance(question, str):
            workspace.notices.append("question not sent: the form had no question")
        else:
            library = workspace.library
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, ask, library.store, library.key, followup_key, report_id, question)
            except QuestionRefused as exc:
                workspace.notices.append(f"question not sent: {exc}")
            except (StoreError, SealError, ValueError) as exc:
                workspace.notices.append(f"question not sent: {exc}")
            else:
                workspace.notices.append("question sealed for the service's workers; it shows below as waiting "
                                         "until a worker delivers it (usually under a minute)")
        raise web.HTTPSeeOther(f"/report/{report_id}#questions")

    return [web.post("/report/{report_id:[0-9a-f]{32}}/ask", ask_reporter)]

"""The report page: a list of sections, each a function of the report's view.

To add a section (e.g. asking the reporter a question), append a `Section` to the workspace's
`sections`; each one renders its own HTML and posts to its own route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secure_store.console.library import Entry, Library
from secure_store.console.pages import answer_html, answers_table, e, layout
from secure_store.console.triage import STATUSES
from secure_store.console.vocabulary import Vocabulary

INLINE_IMAGES = ("image/jpeg", "image/png", "image/webp", "image/gif")
PLAYABLE = ("audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/wav", "audio/amr",
            "video/mp4", "video/3gpp", "video/quicktime", "video/webm")
METADATA = {
    "removed": "identifying metadata removed before sealing",
    "none": "no identifying metadata found",
    "kept": "metadata may remain (could not be fully cleaned): handle with care",
}


@dataclass
class ReportView:
    """What a section may read: the entry, the library (other reports, triage), the labels."""

    entry: Entry
    library: Library
    vocabulary: Vocabulary
    revealed: bool = False

    @property
    def report(self) -> dict[str, Any]:
        return self.entry.report or {}


@dataclass(frozen=True)
class Section:
    name: str
    render: Callable[[ReportView], str]


def _summary(view: ReportView) -> str:
    r, entry = view.report, view.entry
    urgent = '<span class="badge urgent">URGENT</span> ' if r.get("urgent") else ""
    original = ""
    if entry.addendum_to:
        original = (f'<p>Addition to report <a href="/report/{e(entry.addendum_to)}">{e(entry.addendum_to)}</a></p>'
                    if entry.addendum_to in view.library.entries else
                    f"<p>Addition to report {e(entry.addendum_to)} (not readable with this key)</p>")
    facts = [("Report", r.get("report_id")), ("Status", r.get("status")), ("Channel", r.get("channel")),
             ("Language", view.vocabulary.language_name(str(r.get("language", "")))),
             ("Country", entry.country or "-"), ("First message", r.get("started_at") or "-"),
             ("Submitted", r.get("submitted_at")), ("Filed", r.get("filed_at"))]
    rows = "".join(f"<tr><th scope=row>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    return f'<section id="summary"><h1>{urgent}Report</h1>{original}<table class="facts">{rows}</table></section>'


def _answers(view: ReportView) -> str:
    r = view.report
    notes = "".join(f"<li>{e(n)}</li>" for n in r.get("notes", []))
    return (f'<section id="answers"><h2>Answers</h2>'
            f'{answers_table(r.get("answers", {}), str(r.get("language", "")), view.vocabulary, view.entry.country)}'
            f'{"<h3>Service notes</h3><ul>" + notes + "</ul>" if notes else ""}</section>')


def _additions(view: ReportView) -> str:
    ids = view.entry.additions
    if not ids:
        return ""
    parts = []
    for number, report_id in enumerate(ids, 1):
        added = view.library.entries[report_id]
        r = added.report or {}
        texts = "".join(f"<div>{answer_html(k, v, str(r.get('language', '')), view.vocabulary)}</div>"
                        for k, v in r.get("answers", {}).items())
        files = "".join(media_item(report_id, m) for m in r.get("media", []))
        parts.append(f'<li id="addition-{e(report_id)}"><a href="/report/{e(report_id)}">Addition {number}</a> '
                     f'submitted {e(r.get("submitted_at", ""))}{texts}'
                     f'{"<ul class=files>" + files + "</ul>" if files else ""}</li>')
    return f'<section id="additions"><h2>Additions ({len(ids)})</h2><ol>{"".join(parts)}</ol></section>'


def media_item(report_id: str, item: dict[str, Any]) -> str:
    """One file: shown inline only if it is a plain image or playable; always downloadable; never SVG/HTML/PDF."""
    media_id, kind = str(item.get("id", "")), str(item.get("kind", "file"))
    if item.get("status") == "missing":
        return f'<li class="missing">{e(kind)}: missing ({e(item.get("note", "no reason given"))})</li>'
    if item.get("status") != "stored":
        return f'<li class="refused">{e(kind)}: refused ({e(item.get("note", "no reason given"))})</li>'
    ctype = str(item.get("content_type", ""))
    src = f"/media/{e(report_id)}/{e(media_id)}"
    if ctype in INLINE_IMAGES:
        shown = f'<img src="{src}" alt="{e(kind)} sent by the reporter">'
    elif ctype in PLAYABLE:
        tag = "video" if ctype.startswith("video/") else "audio"
        shown = f'<{tag} controls preload="metadata" src="{src}"></{tag}>'
    else:
        shown = f'<span class="document">{e(ctype or "file")}: download only, not opened here</span>'
    metadata = METADATA.get(str(item.get("metadata", "")), "metadata status not recorded")
    size = item.get("size")
    return (f'<li class="media">{shown}<p>{e(kind)} · {e(ctype)} · {e(size if size is not None else "?")} bytes · '
            f'<span class="metadata {e(item.get("metadata", "unknown"))}">{e(metadata)}</span><br>'
            f'sha256 <code>{e(item.get("sha256", "-"))}</code> · '
            f'<a href="{src}?download=1" download>Download</a></p></li>')


def _media(view: ReportView) -> str:
    items = view.report.get("media", [])
    if not items:
        return '<section id="media"><h2>Files</h2><p>No files.</p></section>'
    shown = "".join(media_item(view.entry.report_id, m) for m in items)
    return f'<section id="media"><h2>Files ({len(items)})</h2><ul class="files">{shown}</ul></section>'


def _follow_up(view: ReportView) -> str:
    follow = view.report.get("follow_up")
    if not follow:
        return '<section id="follow-up"><h2>Follow-up</h2><p>The reporter did not agree to be contacted.</p></section>'
    if view.revealed:
        return (f'<section id="follow-up"><h2>Follow-up</h2><p>The reporter agreed to be contacted on '
                f'{e(follow.get("channel", ""))}: <code class="address">{e(follow.get("address", ""))}</code></p>'
                "<p>Shown at your request; this is logged in the report's history.</p></section>")
    return (f'<section id="follow-up"><h2>Follow-up</h2><p>The reporter agreed to be contacted on '
            f'{e(follow.get("channel", ""))}. The address is hidden.</p>'
            f'<form method="post" action="/report/{e(view.entry.report_id)}/reveal">'
            '<button name="reveal" value="1">Show the follow-up address (logged)</button></form></section>')


def _triage(view: ReportView) -> str:
    state = view.library.triage(view.entry.report_id)
    action = f"/report/{e(view.entry.report_id)}/triage"
    options = "".join(f'<option{" selected" if s == state.status else ""}>{e(s)}</option>' for s in STATUSES)
    tags = "".join(
        f'<li><span class="tag">{e(t)}</span><form method="post" action="{action}" class="inline">'
        f'<input type="hidden" name="action" value="untag"><input type="hidden" name="value" value="{e(t)}">'
        f'<button aria-label="remove tag {e(t)}">remove</button></form></li>' for t in state.tags)
    notes = "".join(f'<li><p dir="auto">{e(n.get("value", ""))}</p><small>{e(n.get("by", ""))}, '
                    f'{e(n.get("at", "")[:16].replace("T", " "))}</small></li>' for n in state.notes)
    return (
        f'<section id="triage"><h2>Triage</h2><p>Status: <strong class="status">{e(state.status)}</strong></p>'
        f'<form method="post" action="{action}"><input type="hidden" name="action" value="status">'
        f'<label>Change status <select name="value">{options}</select></label> <button>Save status</button></form>'
        f'<h3>Tags</h3><ul class="tags">{tags}</ul><form method="post" action="{action}">'
        '<input type="hidden" name="action" value="tag"><label>Add tag <input name="value" maxlength="60"></label> '
        '<button>Add tag</button></form>'
        f'<h3>Notes</h3><ul class="notes">{notes}</ul><form method="post" action="{action}">'
        '<input type="hidden" name="action" value="note"><label>Note <textarea name="value" rows="3" '
        'maxlength="4000"></textarea></label> <button>Add note</button></form></section>'
    )


def _history(view: ReportView) -> str:
    state = view.library.triage(view.entry.report_id)
    rows = "".join(f'<tr><td>{e(h.get("at", "")[:19].replace("T", " "))}</td><td>{e(h.get("by", ""))}</td>'
                   f'<td>{e(h.get("action", ""))}</td><td dir="auto">{e(h.get("value", ""))}</td></tr>'
                   for h in state.history)
    damaged = "".join(f'<li class="damaged">DAMAGED triage object {e(d)}</li>' for d in state.damaged)
    body = (f'<table class="history"><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Value</th></tr>{rows}</table>'
            if rows else "<p>Nobody has acted on this report yet.</p>")
    return f'<section id="history"><h2>History</h2>{body}{"<ul>" + damaged + "</ul>" if damaged else ""}</section>'


SECTIONS: list[Section] = [
    Section("summary", _summary), Section("answers", _answers), Section("additions", _additions),
    Section("media", _media), Section("follow-up", _follow_up), Section("triage", _triage),
    Section("history", _history),
]


def report_page(view: ReportView, sections: list[Section], notices: list[str]) -> str:
    if view.entry.report is None:
        body = (f'<section id="summary"><h1>Report {e(view.entry.report_id)}</h1><p class="damaged">DAMAGED: '
                f"{e(view.entry.error)}</p><p>This object cannot be trusted and is not shown. Nothing was skipped: "
                "tell whoever runs the store.</p></section>")
        return layout(f"Damaged report {view.entry.report_id[:8]}", body, notices=notices)
    body = "".join(section.render(view) for section in sections)
    return layout(f"Report {view.entry.report_id[:8]}", f'<article class="report">{body}</article>', notices=notices)


"""How replies read on SMS and WhatsApp: numbered options, plain text on SMS, light formatting on
WhatsApp, one message per answer (separate SMS may arrive out of order), split only past
Twilio's 1,600-character body limit."""

from __future__ import annotations

import re

from adapters.base import Reply

MAX_BODY = 1600
RLM = "\u200f"
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
_SMART = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00a0": " ",
})


def sms_plain(text: str) -> str:
    """No markdown on SMS, and typographic punctuation replaced by GSM-7 characters: one curly
    quote would switch the whole message to UCS-2 and more than double its segments."""
    return _EMPHASIS.sub(r"\2", text).translate(_SMART)


def render_reply(reply: Reply, whatsapp: bool) -> str:
    """One reply as the reporter reads it; choices become a numbered list the flow understands.
    Right-to-left replies start each option line with a right-to-left mark so numbers sit right."""
    mark = RLM if reply.rtl else ""
    lines = [reply.text]
    for number, choice in enumerate(reply.choices, 1):
        lines.append(f"{mark}*{number}.* {choice.label}" if whatsapp else f"{mark}{number}. {choice.label}")
    text = "\n".join(lines)
    return text if whatsapp else sms_plain(text)


def _split(text: str, limit: int) -> list[str]:
    """Cut a long text at line breaks (or hard, for a single huge line) into pieces within `limit`."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            candidate = line
        current = candidate
    if current:
        pieces.append(current)
    return pieces


def render_messages(replies: list[Reply], whatsapp: bool, limit: int = MAX_BODY) -> list[str]:
    """All replies of one answer joined into as few message bodies as fit Twilio's limit."""
    text = "\n\n".join(render_reply(reply, whatsapp) for reply in replies if reply.text or reply.choices)
    return _split(text, limit) if text else []

"""How the simulator page shows replies, channel by channel, as the reporter's phone would.

SMS: the very bodies the Twilio adapter sends (numbered text, plain GSM-7 where possible), each with
its segment count; nothing to tap. WhatsApp: up to 3 quick-reply buttons (titles up to 20
characters) or a list of up to 10 rows (titles up to 24 characters), else numbered text, as
WhatsApp's interactive messages allow. Telegram: one inline button per row, the way
`adapters.telegram_send` builds its keyboards (numbered text where a key would not fit).
"""

from __future__ import annotations

from typing import Any

from adapters.base import Reply
from adapters.telegram_send import keyboard
from adapters.twilio_format import render_messages
from flows.sms import segments

WHATSAPP_MAX_BUTTONS = 3
WHATSAPP_BUTTON_CHARS = 20
WHATSAPP_MAX_ROWS = 10
WHATSAPP_ROW_CHARS = 24
WHATSAPP_INTERACTIVE_BODY = 1024


def _choices(reply: Reply) -> list[dict[str, str]]:
    return [{"key": c.key, "label": c.label} for c in reply.choices]


def _numbered(reply: Reply) -> str:
    return reply.text + "".join(f"\n{i}. {c.label}" for i, c in enumerate(reply.choices, 1))


def whatsapp_shape(reply: Reply) -> str:
    """`buttons`, `list` or `text`: the richest form WhatsApp accepts for this reply."""
    labels = [c.label for c in reply.choices]
    if not labels or len(reply.text) > WHATSAPP_INTERACTIVE_BODY:
        return "text"
    if len(labels) <= WHATSAPP_MAX_BUTTONS and all(len(x) <= WHATSAPP_BUTTON_CHARS for x in labels):
        return "buttons"
    if len(labels) <= WHATSAPP_MAX_ROWS and all(len(x) <= WHATSAPP_ROW_CHARS for x in labels):
        return "list"
    return "text"


def _bubble(reply: Reply, shape: str) -> dict[str, Any]:
    """One reply as a bubble; `choices` stay listed (what a tap or a typed number answers)."""
    text = _numbered(reply) if shape == "text" and reply.choices else reply.text
    return {"text": text, "rtl": reply.rtl, "shape": shape, "choices": _choices(reply)}


def look(replies: list[Reply], kind: str) -> list[dict[str, Any]]:
    """The bubbles `replies` make on a `kind` phone (sms, whatsapp, telegram)."""
    if kind == "sms":
        rtl = any(r.rtl for r in replies)
        return [{"text": body, "rtl": rtl, "shape": "sms", "choices": [], "segments": segments(body)}
                for body in render_messages(replies, whatsapp=False)]
    if kind == "telegram":
        return [_bubble(r, "keyboard" if keyboard(r) is not None else "text") for r in replies]
    return [_bubble(r, whatsapp_shape(r)) for r in replies]

"""What a reporter reads when an analyst asks them a question, and the limits it must fit.

Used on the analyst's machine (to refuse at once a question too long for the reporter's channel)
and by the worker that delivers it, so both judge the same text. Wording lives in the locale files
(`followup.*`); the date is written 2026-11-29 so it reads the same in every language.
"""

from __future__ import annotations

import re

from flows.locale import Locale
from flows.sms import segments

SMS_SEGMENTS = 4
"""Most SMS segments one question may take, opening included (each is billed; long ones arrive split)."""
TEMPLATE_VARIABLE_CHARS = 1000
"""WhatsApp refuses template sends over 1,024 characters in all; the question is the long variable."""
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(question: str) -> str:
    """The question as typed, trimmed: no trailing spaces, at most one blank line in a row."""
    lines = [_SPACES.sub(" ", line).strip() for line in question.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def one_line(question: str) -> str:
    """The question for a WhatsApp template variable: no new lines, tabs or runs of spaces (Twilio
    error 63013 otherwise)."""
    return " ".join(question.split())


def question_text(locale: Locale, date: str, question: str) -> str:
    """The whole message: the safe opening (which line this is, the report's date), the question,
    and how to answer or erase."""
    return locale.text("followup.question", date=date, question=question)


def too_long_for(channel: str, text: str) -> str | None:
    """Why `text` cannot go on `channel` as one question, or None when it fits."""
    if channel == "sms" and segments(text) > SMS_SEGMENTS:
        return (f"too long for SMS: {segments(text)} segments with the opening, at most {SMS_SEGMENTS}; "
                "shorten the question (plain letters fit more than accents or emoji)")
    if channel == "whatsapp" and len(text) > TEMPLATE_VARIABLE_CHARS:
        return f"too long for WhatsApp: at most {TEMPLATE_VARIABLE_CHARS} characters with the opening"
    return None

"""How many SMS segments a text costs (GSM 03.38 7-bit, else UCS-2), to keep prompts short.

GSM-7: 160 characters in one segment, 153 per segment when split; the extension characters
(e.g. `{ } [ ] ~ \\ | ^ €`) count twice. Anything outside the GSM alphabet makes the whole message
UCS-2: 70 UTF-16 code units in one segment, 67 per segment when split.
"""

from __future__ import annotations

import math

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


def segments(text: str) -> int:
    """Segments an SMS of `text` takes (at least 1)."""
    if is_gsm7(text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRÊT"})
"""Messages that, sent alone by SMS to a long code or toll-free number, opt the sender out at the
carrier/Twilio: every later message to them fails (Twilio error 21610) until they send START."""
CARRIER_HELP_WORDS = frozenset({"HELP", "INFO"})
"""Messages that draw the carrier's/Twilio's own help reply as well as ours."""
RESERVED_WORDS = OPT_OUT_WORDS | CARRIER_HELP_WORDS


def opts_out(text: str | None) -> bool:
    """True when an SMS of `text` opts its sender out at the carrier (one reserved word alone,
    any case, surrounding spaces and punctuation ignored, as carriers match it)."""
    if not text:
        return False
    return text.strip().strip(".!").upper() in OPT_OUT_WORDS


def reserved_in(text: str) -> list[str]:
    """Reserved words a message asks the reporter to send (written in capitals, as prompts name
    the words to send): on SMS such a word would opt them out or draw the carrier's reply."""
    return sorted({word for word in text.replace(",", " ").replace(".", " ").replace(":", " ").split()
                   if word.strip("()\"'«»") in RESERVED_WORDS})

"""How what a live conversation keeps in Redis is squeezed before it is sealed.

Redis format 1 (the first release's): zlib at level 1, no dictionary. Redis format 2: one marker
byte, raw deflate at level 6 (as small as level 9 here, in 2/3 of the time) primed with `DICTIONARY`
(the field names and stock values every session and media status repeats: the first release spent
~40% of a session's bytes on them), then the random ids the text held, as bytes (`HEX_RUN`). A
format-2 session also leaves out the ids of files it can derive (bot/sessions.py). `unpack` reads
both formats, so a release that writes format 2 still reads what format-1 processes wrote. v0.1.0
cannot read format 2; v0.2.0 reads it and wrote format 1; from v0.3.0 format 2 is written unless
REDIS_FORMAT=1 (docs/operations.md). `DICTIONARY` and the layout are the format: never change them,
add a format instead.
"""

from __future__ import annotations

import re
import zlib

COMPACT = 2
"""The Redis format `pack(compact=True)` writes."""

MARKER = b"\x02"
"""First byte of a format-2 value; a zlib stream (format 1) always starts with 0x78."""

DICTIONARY = (
    b'"content_type":"video/mp4"},"content_type":"audio/ogg"},"content_type":"application/pdf"},'
    b'"kind":"document","kind":"voice","kind":"audio","kind":"video",'
    b'"channel":"telegram","locator":"AgACAgIAAxkBAA'
    b'"channel":"simulator","channel":"whatsapp","k":"whatsapp","ch":"telegram","k":"telegram",'
    b'"a":"whatsapp:+","ch":"simulator",'
    b'"locator":"https://api.twilio.com/2010-04-01/Accounts/AC'
    b'"x":{"t0":"2026-01-01T00:00:00+00:00","n":1,"q":1700000000.0,"r":1,"ids":["SM","MM"],"fa":1,"e":["'
    b'"ack":[{"text":"","buttons":[]}],"ab":1},'
    b'{"status":"discarded"},"status":"missing","note":"not received: ","status":"refused",'
    b'"note":"the reporter deleted this draft"},'
    b'"status":"stored","content_type":"image/png","size":1,"sha256":"","metadata":"removed","note":"'
    b'{"v":1,"c":{"s":"language","l":"en","a":{"consent":true,"category":"labour","sexual","domestic",'
    b'"begging","crime","other","description":["'
    b'"],"location":{"latitude":0.0,"longitude":0.0,"address":"","label":""},'
    b'"when":"","people":"","danger":true,"danger_help":"","danger_country":"",'
    b'"follow_up":true,"answer":[""],"n":[],"ad":"","r":"review",'
    b'"s":"danger","s":"follow_up","s":"media","s":"people","s":"when","s":"location","s":"description",'
    b'"s":"category","s":"consent","s":"review","s":"submitted","s":"after_filing","s":"addendum",'
    b'"danger":false,"follow_up":false},'
    b'"m":[{"id":"","ref":{"channel":"twilio","locator":"https://api.twilio.com/2010-04-01/Accounts/AC'
    b'/Messages/MM/Media/ME","kind":"photo","content_type":"image/jpeg"},"n":0},{"ref":{"channel":"twilio",'
    b'"locator":"https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME","kind":"photo",'
    b'"content_type":"image/jpeg"},"n":1}],'
    b'"h":["consent","category","description","location","when","people","media","danger","follow_up"],'
    b'"co":"GB"},"a":"+|+","ch":"twilio","k":"sms","r":"'
)


MEMORY_LEVEL = 7
"""zlib's memLevel for format 2: the size of the hash tables a compressor allocates and clears for every
value (9: ~256 KB; 7: ~64 KB). A session or status record is a few KB, so the output is as small
(bench.memory); the web process's CPU per Telegram update fell ~6 % (415 -> 388 us, A/B of two servers).
Any memLevel writes the same format."""


HEX_RUN = 32
"""Random ids (report, media, provider SIDs) are runs of 32 lower-case hex digits: format 2 moves
each, as its 16 bytes, behind the deflated text (where it costs 16 bytes, not ~20), leaving a 0x01
byte in its place, or 0x02 and its number for a repeat (JSON text never holds a raw control byte)."""

HOLE, REPEAT = b"\x01", b"\x02"
HOLES = re.compile(rb"\x01|\x02(.)", re.DOTALL)
_HEX_DIGITS = bytes(ord("h") if chr(c) in "0123456789abcdef" else ord(".") for c in range(256))
_RUN = b"h" * HEX_RUN


def _hex_runs(text: bytes) -> list[int]:
    """Where each run of `HEX_RUN` hex digits starts, leftmost first, none overlapping (as a
    regular expression would find them, in a tenth of the time: `find` on a mask)."""
    mask, starts, at = text.translate(_HEX_DIGITS), [], 0
    while (at := mask.find(_RUN, at)) >= 0:
        starts.append(at)
        at += HEX_RUN
    return starts


def pack(plaintext: bytes, compact: bool) -> bytes:
    """Squeeze `plaintext` (JSON text) in format 2 (`compact`) or 1; `unpack` reverses either."""
    if not compact:
        return zlib.compress(plaintext, 1)
    if HOLE in plaintext or REPEAT in plaintext:
        raise ValueError("format 2 packs JSON text only")
    seen: list[bytes] = []
    pieces: list[bytes] = []
    end = 0
    for start in _hex_runs(plaintext):
        run = plaintext[start:start + HEX_RUN]
        pieces.append(plaintext[end:start])
        end = start + HEX_RUN
        if run not in seen:
            seen.append(run)
            pieces.append(HOLE)
        elif (number := seen.index(run)) < 256:
            pieces.append(REPEAT + bytes([number]))
        else:
            pieces.append(run)
    pieces.append(plaintext[end:])
    squeeze = zlib.compressobj(6, zlib.DEFLATED, -15, MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return MARKER + squeeze.compress(b"".join(pieces)) + squeeze.flush() + bytes.fromhex(b"".join(seen).decode())


def unpack(packed: bytes) -> bytes:
    """The plaintext of a format 1 or 2 value; raises `zlib.error` for anything else."""
    if not packed.startswith(MARKER):
        return zlib.decompress(packed)
    unsqueeze = zlib.decompressobj(-15, DICTIONARY)
    text = unsqueeze.decompress(packed[1:]) + unsqueeze.flush()
    raw = unsqueeze.unused_data
    if not unsqueeze.eof or len(raw) % 16:
        raise zlib.error("damaged format-2 value")
    ids = [raw[i:i + 16].hex().encode() for i in range(0, len(raw), 16)]
    filled = 0

    def fill(hole: re.Match[bytes]) -> bytes:
        nonlocal filled
        number = hole[1][0] if hole[1] is not None else filled
        filled += hole[1] is None
        if number >= len(ids):
            raise zlib.error("damaged format-2 value")
        return ids[number]

    plaintext = HOLES.sub(fill, text)
    if filled != len(ids):
        raise zlib.error("damaged format-2 value")
    return plaintext

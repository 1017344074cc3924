"""How what a live conversation keeps in Redis is squeezed before it is sealed.

Redis format 1 (the first release's): zlib at level 1, no dictionary. Redis format 2: one marker
byte, then raw deflate at level 9 primed with `DICTIONARY`, the field names and stock values every
session and media status repeats (the first release spent ~40% of a session's bytes on them).
`unpack` reads both, so a release that writes format 2 still reads what format 1 processes wrote;
format-1 readers (v0.1.0) cannot read format 2: it is written only when REDIS_FORMAT=2 (see
docs/operations.md). `DICTIONARY` is part of the format: never change it, add a format instead.
"""

from __future__ import annotations

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
    b'"x":{"t0":"2026-01-01T00:00:00+00:00","n":1,"q":1700000000.0,"r":1,"ids":["SM","MM"],"e":["'
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
    b'/Messages/MM/Media/ME","kind":"photo","content_type":"image/jpeg"}}],'
    b'"h":["consent","category","description","location","when","people","media","danger","follow_up"],'
    b'"co":"GB"},"a":"+|+","ch":"twilio","k":"sms","r":"'
)


def pack(plaintext: bytes, compact: bool) -> bytes:
    """Squeeze `plaintext` in format 2 (`compact`) or 1; `unpack` reverses either."""
    if not compact:
        return zlib.compress(plaintext, 1)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return MARKER + squeeze.compress(plaintext) + squeeze.flush()


def unpack(packed: bytes) -> bytes:
    """The plaintext of a format 1 or 2 value; raises `zlib.error` for anything else."""
    if not packed.startswith(MARKER):
        return zlib.decompress(packed)
    unsqueeze = zlib.decompressobj(-15, DICTIONARY)
    plaintext = unsqueeze.decompress(packed[1:]) + unsqueeze.flush()
    if not unsqueeze.eof:
        raise zlib.error("truncated format-2 value")
    return plaintext

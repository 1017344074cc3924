"""Media checks before sealing: the real type from the bytes, and metadata removed without re-encoding.

What a caller may rely on: `prepare` either returns the bytes to seal (metadata that can identify a
reporter — EXIF/XMP with GPS and device, comments, MP4 user data — removed) or raises
`MediaRefused` with a short note that is safe to log and to show an analyst. Removal is lossless:
an image without metadata comes out byte for byte as it came in.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image

from adapters.base import MediaLimits, MediaRefused


@dataclass(frozen=True)
class Prepared:
    """Media ready to seal: `data` is what analysts will get; size and sha256 describe it."""

    data: bytes
    content_type: str
    metadata: str  # "removed", "none" (nothing found) or "kept" (a type or file we could not fully clean)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, or None when unrecognised."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"3g"):
            return "video/3gpp"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS frame sync, layer 0
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    return None


def _refuse_unreadable() -> MediaRefused:
    return MediaRefused("the file is damaged or not what its type says")


def _strip_jpeg(data: bytes) -> bytes:
    """Drop APP1 (Exif, XMP), APP13 (IPTC), COM, APP2 MPF and anything after the image's end
    (trailing thumbnails or motion-photo video carry their own metadata); keep every other byte."""
    out = [data[:2]]
    pos, end = 2, len(data)
    while pos + 1 < end:
        if data[pos] != 0xFF:
            raise _refuse_unreadable()
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            out.append(data[pos:pos + 2])
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[pos:pos + 2])
            pos += 2
            continue
        if pos + 4 > end:
            raise _refuse_unreadable()
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment = data[pos:pos + 2 + length]
        if length < 2 or len(segment) != 2 + length:
            raise _refuse_unreadable()
        drop = marker in (0xE1, 0xED, 0xFE) or (marker == 0xE2 and segment[4:8] == b"MPF\x00")
        if not drop:
            out.append(segment)
        pos += 2 + length
        if marker == 0xDA:
            scan = pos
            while True:
                found = data.find(b"\xff", scan)
                if found < 0 or found + 1 >= end:
                    raise _refuse_unreadable()
                following = data[found + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    scan = found + 2
                    continue
                break
            out.append(data[pos:found])
            pos = found
    raise _refuse_unreadable()


_PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def _strip_png(data: bytes) -> bytes:
    out = [data[:8]]
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunk = data[pos:pos + 12 + length]
        if len(chunk) != 12 + length:
            raise _refuse_unreadable()
        if kind not in _PNG_DROP:
            out.append(chunk)
        pos += 12 + length
        if kind == b"IEND":
            return b"".join(out)
    raise _refuse_unreadable()


def _strip_webp(data: bytes) -> bytes:
    chunks: list[bytes] = []
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos:pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        padded = length + (length & 1)
        chunk = data[pos:pos + 8 + padded]
        if len(chunk) < 8 + length:
            raise _refuse_unreadable()
        if kind == b"VP8X" and length >= 1:
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C & 0xFF]) + chunk[9:]  # clear the EXIF and XMP flags
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        pos += 8 + padded
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _strip_gif(data: bytes) -> bytes:
    """GIF has no lossless metadata surgery worth the parser; re-encode every frame without
    comments or XMP application blocks."""
    with Image.open(io.BytesIO(data)) as image:
        image.info.pop("comment", None)
        image.info.pop("xmp", None)
        output = io.BytesIO()
        image.save(output, "GIF", save_all=True)
    return output.getvalue()


_MP4_CONTAINERS = {b"moov", b"trak"}
_MP4_METADATA = {b"udta", b"meta"}
_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")


class _Malformed(Exception):
    """The box structure does not add up (cut short, odd sizes)."""


def _blank_mp4(buffer: bytearray, start: int, end: int) -> bool:
    """Turn user-data, metadata and XMP boxes into zeroed `free` boxes in place: sizes and media
    offsets stay valid, GPS (©xyz, ISO 6709 keys) and device names are gone."""
    changed = False
    pos = start
    while pos + 8 <= end:
        (size,) = struct.unpack(">I", buffer[pos:pos + 4])
        kind = bytes(buffer[pos + 4:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise _Malformed
            (size,) = struct.unpack(">Q", buffer[pos + 8:pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise _Malformed
        is_xmp = kind == b"uuid" and bytes(buffer[pos + header:pos + header + 16]) == _XMP_UUID
        if kind in _MP4_METADATA or is_xmp:
            buffer[pos + 4:pos + 8] = b"free"
            buffer[pos + header:pos + size] = bytes(size - header)
            changed = True
        elif kind in _MP4_CONTAINERS:
            changed = _blank_mp4(buffer, pos + header, pos + size) or changed
        pos += size
    return changed


MAX_STILL_PIXELS = 120_000_000
"""Width x height of a still picture (a 108-megapixel phone photo passes). Stills are kept byte for
byte here, but analysts' viewers decode them."""
MAX_DECODED_PIXELS = 50_000_000
"""Width x height x frames of an animation, or of any picture this module decodes (GIF): about
200 MB of pixels at 4 bytes each, whatever a few hundred kilobytes of file claim."""
_DECODED_HERE = frozenset({"image/gif"})


def check_pixels(data: bytes, content_type: str) -> None:
    """Refuse a picture whose header claims more pixels than may be decoded, before anything
    decodes it (`Image.open` reads only the header; counting GIF frames only walks its blocks)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                frames = int(getattr(image, "n_frames", 1) or 1)
    except Image.DecompressionBombError:
        raise MediaRefused("the picture claims more pixels than accepted") from None
    except Exception:  # Pillow raises many types for broken headers; all mean the same here
        raise _refuse_unreadable() from None
    pixels = width * height * frames
    limit = MAX_DECODED_PIXELS if frames > 1 or content_type in _DECODED_HERE else MAX_STILL_PIXELS
    if pixels > limit:
        raise MediaRefused(f"the picture claims {pixels // 1_000_000} million pixels; at most "
                           f"{limit // 1_000_000} million are accepted")


def _check_image(data: bytes) -> None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # Pillow raises many types for broken input; all mean the same here
        raise _refuse_unreadable() from None


def prepare(data: bytes, limits: MediaLimits) -> Prepared:
    """Check size and real type, remove metadata; raise MediaRefused with a note otherwise."""
    if len(data) > limits.max_bytes:
        raise MediaRefused(f"the file is larger than the {limits.max_bytes // (1024 * 1024)} MB limit")
    if not data:
        raise MediaRefused("the file is empty")
    content_type = sniff(data)
    if content_type is None or content_type not in limits.allowed_types:
        raise MediaRefused(f"files of type {content_type or 'unknown'} are not accepted")
    strip = {"image/jpeg": _strip_jpeg, "image/png": _strip_png, "image/webp": _strip_webp,
             "image/gif": _strip_gif}.get(content_type)
    if strip is not None:
        check_pixels(data, content_type)
        _check_image(data)
        cleaned = strip(data)
        _check_image(cleaned)
        return Prepared(cleaned, content_type, "removed" if cleaned != data else "none")
    if content_type in ("video/mp4", "video/3gpp", "video/quicktime", "audio/mp4"):
        buffer = bytearray(data)
        try:
            changed = _blank_mp4(buffer, 0, len(buffer))
        except _Malformed:  # keep the evidence; what could be reached is blanked, the rest is flagged
            return Prepared(bytes(buffer), content_type, "kept")
        return Prepared(bytes(buffer) if changed else data, content_type, "removed" if changed else "none")
    return Prepared(data, content_type, "kept")

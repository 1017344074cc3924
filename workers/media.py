"""Media checks before sealing: the real type from the bytes, and metadata removed without re-encoding.

What a caller may rely on: `prepare` either returns the bytes to seal (metadata that can identify a
reporter — EXIF/XMP with GPS and device, comments, MP4 user data, audio tags, PDF document
information and XMP — removed) or raises `MediaRefused` with a short note that is safe to log and
to show an analyst. Removal is lossless for images and audio: a file without metadata comes out byte
for byte as it came in. `metadata == "kept"` only when cleaning failed, and `note` says why.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

import mutagen
from mutagen import apev2, id3
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from adapters.base import MediaLimits, MediaRefused


@dataclass(frozen=True)
class Prepared:
    """Media ready to seal: `data` is what analysts will get; size and sha256 describe it."""

    data: bytes
    content_type: str
    metadata: str  # "removed", "none" (nothing found) or "kept" (a file we could not fully clean)
    note: str = ""  # why metadata was kept, for the analyst

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
            return Prepared(bytes(buffer), content_type, "kept", "the video's structure is damaged: "
                            "metadata after the damage could not be removed")
        return Prepared(bytes(buffer) if changed else data, content_type, "removed" if changed else "none")
    if content_type.startswith("audio/"):
        return clean_audio(data, content_type)
    if content_type == "application/pdf":
        return clean_pdf(data)
    return Prepared(data, content_type, "kept", f"no metadata cleaner for {content_type}")


# -- audio and documents ------------------------------------------------------------------------

_WAV_DROP = {b"LIST", b"id3 ", b"ID3 ", b"bext", b"iXML", b"cart", b"DISP", b"_PMX", b"axml"}
"""RIFF/WAVE chunks that hold text about the recording (INFO comments, broadcast origin, XMP)."""


def _strip_wav(data: bytes) -> bytes:
    out = [data[:12]]
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos:pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        chunk = data[pos:pos + 8 + length + (length & 1)]
        if len(chunk) < 8 + length:
            raise _Malformed
        if kind not in _WAV_DROP:
            out.append(chunk)
        pos += len(chunk)
    body = b"".join(out)[8:]
    return data if len(body) + 8 == len(data) else b"RIFF" + struct.pack("<I", len(body)) + body


def _untag(data: bytes) -> bytes:
    """ID3v1/v2 and APEv2 tags (MP3, AAC), Vorbis/Opus comments (Ogg) removed by mutagen."""
    buffer = io.BytesIO(data)
    if data.startswith(b"OggS"):
        audio = mutagen.File(buffer)
        if audio is None:
            raise _Malformed
        if audio.tags:
            audio.delete(buffer)
    else:
        id3.delete(buffer, delete_v1=True, delete_v2=True)
        apev2.delete(buffer)
    return buffer.getvalue()


def _tags_left(data: bytes) -> bool:
    audio = mutagen.File(io.BytesIO(data))
    return bool(audio is not None and audio.tags)


def clean_audio(data: bytes, content_type: str) -> Prepared:
    """Voice notes and audio files without tags (a comment such as "Processed by SoX", artist,
    encoder settings, a recording place); the sound itself is left untouched."""
    if content_type == "audio/amr":
        return Prepared(data, content_type, "none")  # AMR has no place for metadata
    try:
        cleaned = _strip_wav(data) if content_type == "audio/wav" else _untag(data)
        if content_type != "audio/wav" and _tags_left(cleaned):
            return Prepared(data, content_type, "kept", "audio tags remained after cleaning")
    except (_Malformed, mutagen.MutagenError, struct.error, ValueError) as exc:
        return Prepared(data, content_type, "kept", f"the audio file could not be read to remove its tags "
                                                     f"({type(exc).__name__})")
    return Prepared(cleaned, content_type, "removed" if cleaned != data else "none")


_PDF_PRIVATE = ("/Metadata", "/PieceInfo")
"""XMP streams and application data (author, editing software, paths) in the catalog and on pages."""


def clean_pdf(data: bytes) -> Prepared:
    """A PDF rewritten without its document information (author, creator, producer, dates), XMP
    and private application data; objects nothing refers to any more (earlier revisions, which may
    hold an earlier author) are dropped, so every PDF is rewritten."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return Prepared(data, "application/pdf", "kept", "the PDF is encrypted: its metadata could not be removed")
        root = reader.root_object
        found = bool(reader.metadata) or any(key in root for key in _PDF_PRIVATE) or any(
            key in page for page in reader.pages for key in _PDF_PRIVATE)
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        for holder in (writer.root_object, *writer.pages):
            for key in _PDF_PRIVATE:
                holder.pop(key, None)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        output = io.BytesIO()
        writer.write(output)
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return Prepared(data, "application/pdf", "kept", f"the PDF could not be read to remove its metadata "
                                                          f"({type(exc).__name__})")
    return Prepared(output.getvalue(), "application/pdf", "removed" if found else "none")

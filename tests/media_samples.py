"""Media a reporter's phone would send, built with Pillow, mutagen and pypdf, with identifying metadata inside."""

from __future__ import annotations

import io
import struct

from mutagen.id3 import COMM, ID3, TPE1
from mutagen.ogg import OggPage
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject

DEVICE = "ReporterPhone X9"
GPS = {1: "N", 2: (45.0, 45.0, 50.0), 3: "E", 4: (4.0, 50.0, 2.0)}


def exif() -> Image.Exif:
    data = Image.Exif()
    data[0x0110] = DEVICE  # Model
    data[0x8825] = GPS  # GPSInfo IFD
    return data


def image(fmt: str, with_metadata: bool = True, color: str = "orange", **options: object) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", (48, 36), color)
    if with_metadata:
        options = {"exif": exif(), **options}
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_with_location() -> bytes:
    """A minimal MP4 whose movie box carries a user-data location (©xyz), as phones write it."""
    location = box(b"\xa9xyz", struct.pack(">HH", 18, 0) + b"+45.7639+004.8339/")
    moov = box(b"moov", box(b"mvhd", bytes(100)) + box(b"udta", location))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + box(b"mdat", b"\x00" * 64)


TAGGED_BY = "Processed by SoX"
AUTHOR = "Jane Reporter"


def ogg_opus_with_tags() -> bytes:
    """A tiny Ogg Opus voice note (one silent frame) whose comments say who made it, as SoX or a
    phone's recorder writes them."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    vendor, comments = b"libopus 1.3", [f"Comment={TAGGED_BY}".encode(), f"ARTIST={AUTHOR}".encode()]
    tags = (b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
            + b"".join(struct.pack("<I", len(c)) + c for c in comments))
    pages = []
    for sequence, (packet, position) in enumerate([(head, 0), (tags, 0), (b"\xf8\xff\xfe", 960)]):
        page = OggPage()
        page.serial, page.sequence, page.position, page.packets = 0x7E1, sequence, position, [packet]
        page.first, page.last = sequence == 0, sequence == 2
        pages.append(page.write())
    return b"".join(pages)


MP3_FRAMES = (b"\xff\xfb\x90\x00" + bytes(413)) * 4
"""Four silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz)."""


def mp3_with_tags() -> bytes:
    buffer = io.BytesIO(MP3_FRAMES)
    tags = ID3()
    tags.add(TPE1(encoding=3, text=AUTHOR))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=TAGGED_BY))
    tags.save(buffer, v1=2)
    return buffer.getvalue()


def wav_with_info() -> bytes:
    """A short silent WAV with a LIST/INFO comment and artist."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    info = b"INFO" + b"ICMT" + struct.pack("<I", 16) + TAGGED_BY.encode() + b"IART" + struct.pack("<I", 14) \
        + AUTHOR.encode() + b"\x00"
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", len(info)) + info
              + b"data" + struct.pack("<I", 800) + bytes(800))
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def pdf_with_author() -> bytes:
    """A one-page PDF with document information and an XMP packet naming its author."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Author": AUTHOR, "/Creator": f"Word on {AUTHOR}'s laptop"})
    xmp = StreamObject()
    xmp.set_data(f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:creator>{AUTHOR}</dc:creator></x:xmpmeta>".encode())
    xmp[NameObject("/Type")], xmp[NameObject("/Subtype")] = NameObject("/Metadata"), NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()

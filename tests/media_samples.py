"""Media a reporter's phone would send, built with Pillow, with identifying metadata inside."""

from __future__ import annotations

import io
import struct

from PIL import Image

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

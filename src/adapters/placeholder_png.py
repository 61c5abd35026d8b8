"""PNG encoding for the placeholder card that reuses the compressed background.

A card is an 8-bit palette image whose indices depend only on its size (the gradient's rows);
the prompt changes the palette and the few bands of rows the text covers. PNG compresses all
rows as one zlib stream, so this writer cuts the rows into bands, deflates each band on its
own ending with a full flush (byte-aligned, no back-references into earlier bands), and keeps
the deflated background bands per size: a card deflates only the bands its text inked (the
caller says which rows) and splices the rest. Concatenated full-flushed raw-deflate segments
are one valid stream; the zlib checksum of the whole is combined from the bands' checksums.
A 1024x1024 card takes about 1.8 ms in Pillow's PNG encoder at compress level 1 and about
0.2 ms here (`python -m bench.placeholder`).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image

_BAND_ROWS = 16
_LEVEL = 1  # the rows are runs of one index: level 1 is nearly as small as level 9 here
_ADLER_BASE = 65521
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FINAL_BLOCK = b"\x03\x00"  # an empty final block with fixed Huffman codes
_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, fastest-compression flag


@dataclass(frozen=True)
class _Band:
    rows: int  # _BAND_ROWS, or fewer in the last band
    deflated: bytes
    adler: int
    length: int  # bytes of the band's scanlines (a filter byte per row + the row)


@dataclass(frozen=True)
class Background:
    """The deflated bands of one size's background; build with `background(...)`."""

    width: int
    height: int
    bands: tuple[_Band, ...]


def background(indices: bytes, width: int, height: int) -> Background:
    """Deflate a background once (the caller keeps it per size); `indices` are its mode-P
    bytes as Image.tobytes() gives them."""
    step = width * _BAND_ROWS
    bands = tuple(_band(indices[at : at + step], width) for at in range(0, len(indices), step))
    return Background(width, height, bands)


def encode_png(
    image: Image.Image, palette: bytes, base: Background, inked: Iterable[tuple[int, int]]
) -> bytes:
    """A PNG of `image` (mode P, base's size, base's indices except in the `inked` row ranges,
    each [top, bottom)) with a 256-entry RGB `palette`."""
    dirty = {
        number
        for top, bottom in inked
        for number in range(max(0, top) // _BAND_ROWS, -(-min(bottom, base.height) // _BAND_ROWS))
    }
    parts = [_ZLIB_HEADER]
    adler = 1
    for number, band in enumerate(base.bands):
        if number in dirty:
            top = number * _BAND_ROWS
            box = (0, top, base.width, top + band.rows)
            band = _band(image.crop(box).tobytes(), base.width)
        parts.append(band.deflated)
        adler = _adler32_combine(adler, band.adler, band.length)
    parts += [_FINAL_BLOCK, struct.pack(">I", adler)]
    header = struct.pack(">IIBBBBB", base.width, base.height, 8, 3, 0, 0, 0)
    return b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", b"".join(parts)),
            _chunk(b"IEND", b""),
        ]
    )


def _band(pixels: bytes, width: int) -> _Band:
    scanlines = b"".join(
        b"\x00" + pixels[at : at + width] for at in range(0, len(pixels), width)
    )  # filter type 0 (none) on every row: the rows are flat, a filter would buy nothing
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15)
    deflated = compressor.compress(scanlines) + compressor.flush(zlib.Z_FULL_FLUSH)
    return _Band(len(pixels) // width, deflated, zlib.adler32(scanlines), len(scanlines))


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs (zlib's adler32_combine)."""
    rem = second_length % _ADLER_BASE
    low = first & 0xFFFF
    high = (rem * low + (first >> 16) + (second >> 16) + _ADLER_BASE - rem) % _ADLER_BASE
    low = (low + (second & 0xFFFF) + _ADLER_BASE - 1) % _ADLER_BASE
    return (high << 16) | low


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

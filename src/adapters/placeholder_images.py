"""An offline ImageGenerator: Pillow draws the prompt onto a coloured card.

The same request always gives the same bytes (the colour comes from a hash of the prompt), so
tests can compare images, and the card shows what was asked for so a human can tell jobs apart.

The card is drawn in palette mode (a 255-step gradient and white): a 1024x1024 PNG in RGB cost
25 ms of CPU and a few MB more memory. A worker runs up to a hundred
generations at once, but rendering is CPU work under one GIL: a semaphore lets only a couple
draw at a time, so a burst of finished delays does not hold a hundred images in memory at once.

What does not depend on the prompt is made once per size and kept (a few sizes are ever
asked for): the gradient's indices, its deflated PNG bands (`placeholder_png`) and the fonts
with their glyph masks (`placeholder_text`). A card copies the indices, sets its palette,
pastes the text and, for PNG, deflates only the bands the text inked: about 0.6 ms of CPU for
a 1024x1024 PNG instead of 3.6 ms (`python -m bench.placeholder`).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import textwrap
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageFont

from adapters.placeholder_png import Background, background, encode_png
from adapters.placeholder_text import GlyphCache
from domain.models import GeneratedImage, ImageRequest, OutputFormat

_PILLOW_FORMAT = {OutputFormat.PNG: "PNG", OutputFormat.JPEG: "JPEG", OutputFormat.WEBP: "WEBP"}
_MAX_LINES = 12
_STEPS = 255  # palette entries 0..254 are the gradient, top to bottom
_WHITE = 255  # the last palette entry: the text
_Colour = tuple[int, int, int]


@dataclass(frozen=True)
class _Canvas:
    """One size's prompt-independent parts, shared read-only by every render of that size."""

    indices: Image.Image  # mode P, the gradient's rows; each card draws on a copy
    png: Background
    font: GlyphCache  # the prompt's
    small: GlyphCache  # the footer's
    margin: int
    spacing: int


class PlaceholderImageGenerator:
    """Satisfies `domain.ports.ImageGenerator`; `delay_ms` simulates a model's latency."""

    def __init__(
        self,
        *,
        delay_ms: int = 0,
        sleep: Callable[[float], None] = time.sleep,
        concurrent_renders: int = 2,
    ) -> None:
        if delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        self._delay = delay_ms / 1000
        self._sleep = sleep
        self._rendering = threading.BoundedSemaphore(concurrent_renders)

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        if self._delay:
            self._sleep(self._delay)  # a sleep, not work: a thread pool overlaps many of these
        with self._rendering:
            return [
                GeneratedImage(
                    data=render_card(request, index),
                    content_type=request.output_format.content_type,
                )
                for index in range(request.n)
            ]


def render_card(request: ImageRequest, index: int) -> bytes:
    """One deterministic image of `request.dimensions` in `request.output_format`."""
    width, height = request.dimensions
    canvas = _canvas(width, height)
    digest = hashlib.sha256(request.prompt.encode()).digest()
    image = canvas.indices.copy()
    palette = _palette_bytes(*_palette(digest, index))
    image.putpalette(palette)
    top = canvas.margin
    bottom = top
    step = canvas.font.line_height + canvas.spacing
    lines = _wrap(request.prompt, width - 2 * canvas.margin, canvas.font.average_advance)
    for number, line in enumerate(lines):
        xy = (canvas.margin, top + number * step)
        bottom = max(bottom, canvas.font.draw_line(image, xy, line, _WHITE))
    footer = f"{request.size} | {request.quality.value} | {request.output_format.value}"
    if request.n > 1:
        footer = f"{index + 1}/{request.n} | {footer}"
    footer_top = height - canvas.margin - canvas.small.height(footer)
    footer_bottom = canvas.small.draw_line(image, (canvas.margin, footer_top), footer, _WHITE)
    if request.output_format is OutputFormat.PNG:
        inked = [(top, bottom), (footer_top, footer_bottom)]
        return encode_png(image, palette, canvas.png, inked)
    return _encode(image, request.output_format)


@lru_cache(maxsize=4)  # the standard sizes are three; each entry holds ~2 MB at 1024x1024
def _canvas(width: int, height: int) -> _Canvas:
    last = max(1, height - 1)
    column = bytes(row * (_STEPS - 1) // last for row in range(height))
    indices = Image.frombytes("P", (1, height), column).resize(
        (width, height), Image.Resampling.NEAREST
    )
    scale = min(width, height)
    return _Canvas(
        indices=indices,
        png=background(indices.tobytes(), width, height),
        font=GlyphCache(ImageFont.load_default(size=max(8, scale // 22))),
        small=GlyphCache(ImageFont.load_default(size=max(6, scale // 36))),
        margin=max(4, scale // 20),
        spacing=max(2, scale // 100),
    )


def _palette(digest: bytes, index: int) -> tuple[_Colour, _Colour]:
    hue = (int.from_bytes(digest[:2], "big") / 65536 + index * 0.13) % 1.0
    saturation = 0.45 + digest[2] / 255 * 0.4
    light = colorsys.hsv_to_rgb(hue, saturation, 0.75)
    dark = colorsys.hsv_to_rgb((hue + 0.08) % 1.0, saturation, 0.3)
    return _rgb(light), _rgb(dark)


def _rgb(channels: tuple[float, float, float]) -> _Colour:
    red, green, blue = (round(channel * 255) for channel in channels)
    return red, green, blue


def _palette_bytes(top: _Colour, bottom: _Colour) -> bytes:
    """Entries 0..254 step from `top` to `bottom` (the gradient's rows); entry 255 is white."""
    last = _STEPS - 1
    pairs = tuple(zip(top, bottom, strict=True))
    steps = (
        a + ((b - a) * step * 2 + last) // (2 * last) for step in range(_STEPS) for a, b in pairs
    )
    return bytes(steps) + b"\xff\xff\xff"  # integer rounding: a third of the time of round()


def _wrap(prompt: str, width_px: int, glyph: float) -> list[str]:
    """Wrap to the card's width (`glyph`: the average advance in pixels) and cut to a few lines."""
    columns = max(4, int(width_px / glyph))
    # The bundled font is Latin only: fold accents (café → cafe) rather than draw empty boxes.
    folded = "".join(
        char for char in unicodedata.normalize("NFKD", prompt) if not unicodedata.combining(char)
    )
    lines = textwrap.wrap(" ".join(folded.split()), width=columns) or [""]
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], lines[_MAX_LINES - 1][: columns - 3] + "..."]
    return lines


def _encode(image: Image.Image, output_format: OutputFormat) -> bytes:
    buffer = io.BytesIO()
    if output_format is OutputFormat.PNG:
        image.save(buffer, "PNG", compress_level=1)  # indexed rows compress well even so
    elif output_format is OutputFormat.WEBP:
        image.convert("RGB").save(buffer, "WEBP", method=0)  # the fastest encoder setting
    else:
        image.convert("RGB").save(buffer, _PILLOW_FORMAT[output_format])
    return buffer.getvalue()

"""An offline ImageGenerator: Pillow draws the prompt onto a coloured card.

The same request always gives the same bytes (the colour comes from a hash of the prompt), so
tests can compare images, and the card shows what was asked for so a human can tell jobs apart.

The card is drawn in palette mode (a 255-step gradient and white): a 1024x1024 PNG costs about
3 ms of CPU instead of 25 ms in RGB, and a few MB less memory. A worker runs up to a hundred
generations at once, but rendering is CPU work under one GIL: a semaphore lets only a couple
draw at a time, so a burst of finished delays does not hold a hundred images in memory at once.
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

from PIL import Image, ImageDraw, ImageFont

from domain.models import GeneratedImage, ImageRequest, OutputFormat

_PILLOW_FORMAT = {OutputFormat.PNG: "PNG", OutputFormat.JPEG: "JPEG", OutputFormat.WEBP: "WEBP"}
_MAX_LINES = 12
_STEPS = 255  # palette entries 0..254 are the gradient, top to bottom
_WHITE = 255  # the last palette entry: the text
_Colour = tuple[int, int, int]


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
    digest = hashlib.sha256(request.prompt.encode()).digest()
    light, dark = _palette(digest, index)
    image = _gradient(width, height, light, dark)
    draw = ImageDraw.Draw(image)
    scale = min(width, height)
    margin = max(4, scale // 20)
    font = ImageFont.load_default(size=max(8, scale // 22))
    small = ImageFont.load_default(size=max(6, scale // 36))
    draw.multiline_text(
        (margin, margin),
        _wrap(request.prompt, width - 2 * margin, font),
        font=font,
        fill=_WHITE,
        spacing=max(2, scale // 100),
    )
    footer = f"{request.size} | {request.quality.value} | {request.output_format.value}"
    if request.n > 1:
        footer = f"{index + 1}/{request.n} | {footer}"
    footer_height = draw.textbbox((0, 0), footer, font=small)[3]
    draw.text((margin, height - margin - footer_height), footer, font=small, fill=_WHITE)
    return _encode(image, request.output_format)


def _palette(digest: bytes, index: int) -> tuple[_Colour, _Colour]:
    hue = (int.from_bytes(digest[:2], "big") / 65536 + index * 0.13) % 1.0
    saturation = 0.45 + digest[2] / 255 * 0.4
    light = colorsys.hsv_to_rgb(hue, saturation, 0.75)
    dark = colorsys.hsv_to_rgb((hue + 0.08) % 1.0, saturation, 0.3)
    return _rgb(light), _rgb(dark)


def _rgb(channels: tuple[float, float, float]) -> _Colour:
    red, green, blue = (round(channel * 255) for channel in channels)
    return red, green, blue


def _gradient(width: int, height: int, top: _Colour, bottom: _Colour) -> Image.Image:
    """A palette image whose rows step from `top` to `bottom`; entry 255 is white."""
    last = max(1, height - 1)
    column = bytes(row * (_STEPS - 1) // last for row in range(height))
    image = Image.frombytes("P", (1, height), column).resize(
        (width, height), Image.Resampling.NEAREST
    )
    palette: list[int] = []
    for step in range(_STEPS):
        share = step / (_STEPS - 1)
        palette += [round(a + (b - a) * share) for a, b in zip(top, bottom, strict=True)]
    image.putpalette([*palette, 255, 255, 255])
    return image


def _wrap(prompt: str, width_px: int, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """Wrap to the card's width (measured on an average glyph) and cut to a few lines."""
    glyph = max(1.0, font.getlength("abcdefghijklmnopqrstuvwxyz") / 26)
    columns = max(4, int(width_px / glyph))
    # The bundled font is Latin only: fold accents (café → cafe) rather than draw empty boxes.
    folded = "".join(
        char for char in unicodedata.normalize("NFKD", prompt) if not unicodedata.combining(char)
    )
    lines = textwrap.wrap(" ".join(folded.split()), width=columns) or [""]
    if len(lines) > _MAX_LINES:
        lines = [*lines[: _MAX_LINES - 1], lines[_MAX_LINES - 1][: columns - 3] + "..."]
    return "\n".join(lines)


def _encode(image: Image.Image, output_format: OutputFormat) -> bytes:
    buffer = io.BytesIO()
    if output_format is OutputFormat.PNG:
        image.save(buffer, "PNG", compress_level=1)  # indexed rows compress well even so
    elif output_format is OutputFormat.WEBP:
        image.convert("RGB").save(buffer, "WEBP", method=0)  # the fastest encoder setting
    else:
        image.convert("RGB").save(buffer, _PILLOW_FORMAT[output_format])
    return buffer.getvalue()

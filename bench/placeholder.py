"""Micro-benchmark of the placeholder card: CPU per render and per step, in this process.

    python -m bench.placeholder [--renders 200]

Prints CPU milliseconds (time.process_time, so other processes' load shows up only as cache
and frequency effects) per whole card in each format, then per step of a 1024x1024 PNG card,
each next to the alternative it replaced or was weighed against.
"""

from __future__ import annotations

import argparse
import io
import time
import zlib
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont

from adapters import placeholder_images as cards
from adapters.placeholder_png import background, encode_png
from adapters.placeholder_text import GlyphCache
from domain.models import ImageRequest, OutputFormat

PROMPT = "a lighthouse at dusk"
FOOTER = "1024x1024 | auto | png"


def cpu_ms(work: Callable[[], object], repeat: int) -> float:
    work()  # the first call fills the caches a worker fills once
    start = time.process_time()
    for _ in range(repeat):
        work()
    return (time.process_time() - start) / repeat * 1000


def whole_cards(repeat: int) -> list[tuple[str, float]]:
    rows = []
    for fmt in OutputFormat:
        request = ImageRequest(prompt=PROMPT, output_format=fmt)
        rows.append(
            (
                f"render_card 1024x1024 {fmt.value}",
                cpu_ms(lambda r=request: cards.render_card(r, 0), repeat),
            )
        )
    prompts = iter(range(10**9))  # a new prompt per card: nothing prompt-dependent is reused
    rows.append((
        "render_card png, a different prompt each time",
        cpu_ms(lambda: cards.render_card(ImageRequest(prompt=f"{PROMPT} {next(prompts)}"), 0),
               repeat),
    ))  # fmt: skip
    return rows


def steps(repeat: int) -> list[tuple[str, float]]:
    canvas = cards._canvas(1024, 1024)
    palette = cards._palette_bytes((200, 120, 60), (60, 20, 10))
    font, small = ImageFont.load_default(size=46), ImageFont.load_default(size=28)
    image = canvas.indices.copy()
    image.putpalette(palette)
    inked = [(51, canvas.font.draw_line(image, (51, 51), PROMPT, 255))]

    def fresh_gradient() -> Image.Image:
        column = bytes(row * 254 // 1023 for row in range(1024))
        return Image.frombytes("P", (1, 1024), column).resize(
            (1024, 1024), Image.Resampling.NEAREST
        )

    def pillow_png(**options: int) -> Callable[[], bytes]:
        def save() -> bytes:
            buffer = io.BytesIO()
            image.save(buffer, "PNG", **options)
            return buffer.getvalue()

        return save

    size = {name: len(make()) for name, make in (
        ("pillow1", pillow_png(compress_level=1)),
        ("rle", pillow_png(compress_level=1, compress_type=zlib.Z_RLE)),
        ("bands", lambda: encode_png(image, palette, canvas.png, inked)),
    )}  # fmt: skip

    def text(font: ImageFont.FreeTypeFont, words: str, y: int) -> None:
        ImageDraw.Draw(image).textbbox((0, 0), words, font=font)
        ImageDraw.Draw(image).text((51, y), words, font=font, fill=255)

    def pasted(glyphs: GlyphCache, words: str, y: int) -> None:
        glyphs.height(words)
        glyphs.draw_line(image, (51, y), words, 255)

    rle = {"compress_level": 1, "compress_type": zlib.Z_RLE}
    return [
        ("gradient indices drawn afresh (before)", cpu_ms(fresh_gradient, repeat)),
        ("… copied from the per-size cache (now)", cpu_ms(canvas.indices.copy, repeat)),
        ("palette (255 steps + white)",
         cpu_ms(lambda: cards._palette_bytes((1, 2, 3), (4, 5, 6)), repeat)),
        ("prompt line: ImageDraw textbbox + text, FreeType (before)",
         cpu_ms(lambda: text(font, PROMPT, 51), repeat)),
        ("… pasted from cached glyph masks (now)",
         cpu_ms(lambda: pasted(canvas.font, PROMPT, 51), repeat)),
        ("footer line: ImageDraw textbbox + text, FreeType (before)",
         cpu_ms(lambda: text(small, FOOTER, 950), repeat)),
        ("… pasted from cached glyph masks (now)",
         cpu_ms(lambda: pasted(canvas.small, FOOTER, 950), repeat)),
        (f"PNG by Pillow, compress_level=1 (before; {size['pillow1']:,} B)",
         cpu_ms(pillow_png(compress_level=1), repeat)),
        (f"… with Z_RLE ({size['rle']:,} B)", cpu_ms(pillow_png(**rle), repeat)),
        ("… compress_level=0 (stored, ~1 MB: not kept)",
         cpu_ms(pillow_png(compress_level=0), repeat)),
        ("Image.tobytes of a whole card (to compare bands instead of naming them)",
         cpu_ms(image.tobytes, repeat)),
        (f"PNG by cached deflated bands (now; {size['bands']:,} B)",
         cpu_ms(lambda: encode_png(image, palette, canvas.png, inked), repeat)),
        ("… the per-size background's bands, once per size",
         cpu_ms(lambda: background(canvas.indices.tobytes(), 1024, 1024), max(1, repeat // 10))),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.placeholder", description=__doc__)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args(argv)
    for name, ms in [*whole_cards(args.renders), *steps(args.renders)]:
        print(f"{ms:8.3f} ms  {name}")


if __name__ == "__main__":
    main()

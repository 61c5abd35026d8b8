"""Text for the placeholder card from glyph masks drawn once per character and size.

FreeType lays out and rasterises a whole line per `ImageDraw.text` call, which was the largest
part of a card's CPU after the PNG; a card's few dozen characters come from a small alphabet,
so each is rasterised once and pasted from then on. The bundled font is laid out without
kerning here as in Pillow's basic layout, so the card looks the same. Characters past
`_MOST_GLYPHS` distinct ones (a prompt in a large script) are drawn but not kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

_MOST_GLYPHS = 512


@dataclass(frozen=True)
class _Glyph:
    mask: Image.Image | None  # mode "1"; None for a blank such as a space
    left: int
    top: int  # from the line's top (the ascender), as FreeType's bbox with anchor "la"
    advance: float


class GlyphCache:
    """One font's glyph masks. Safe to share between threads: a race draws a glyph twice."""

    def __init__(self, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> None:
        self._font = font
        self._glyphs: dict[str, _Glyph] = {}
        self.line_height = int(font.getbbox("A")[3])  # what ImageDraw.multiline_text steps by
        self.average_advance = max(1.0, font.getlength("abcdefghijklmnopqrstuvwxyz") / 26)

    def draw_line(self, image: Image.Image, xy: tuple[int, int], text: str, ink: int) -> int:
        """Paste `text` with its top-left at `xy`; returns the lowest row it inked + 1."""
        x, y = xy
        pen, bottom = float(x), y
        for char in text:
            glyph = self._glyph(char)
            if glyph.mask is not None:
                top = y + glyph.top
                image.paste(ink, (round(pen) + glyph.left, top), glyph.mask)
                bottom = max(bottom, top + glyph.mask.height)
            pen += glyph.advance
        return bottom

    def height(self, text: str) -> int:
        """The rows `text` inks below its top, as ImageDraw.textbbox(...)[3]."""
        return max((g.top + g.mask.height for g in map(self._glyph, text) if g.mask), default=0)

    def _glyph(self, char: str) -> _Glyph:
        glyph = self._glyphs.get(char)
        if glyph is None:
            glyph = self._draw(char)
            if len(self._glyphs) < _MOST_GLYPHS:
                self._glyphs[char] = glyph
        return glyph

    def _draw(self, char: str) -> _Glyph:
        left, top, right, bottom = (int(edge) for edge in self._font.getbbox(char))
        advance = self._font.getlength(char)
        if right <= left or bottom <= top:
            return _Glyph(None, left, top, advance)
        mask = Image.new("1", (right - left, bottom - top))
        ImageDraw.Draw(mask).text((-left, -top), char, font=self._font, fill=1)
        return _Glyph(mask, left, top, advance)

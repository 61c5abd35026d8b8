"""The offline renderer: real images of the asked size and format, deterministic, n of them."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from adapters.placeholder_images import PlaceholderImageGenerator
from adapters.placeholder_png import background, encode_png
from domain.models import ImageRequest, OutputFormat

PILLOW_NAMES = {OutputFormat.PNG: "PNG", OutputFormat.JPEG: "JPEG", OutputFormat.WEBP: "WEBP"}


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("size", ["1024x1024", "1536x1024", "1024x1536", "160x96"])
def test_images_have_the_asked_size_format_and_content_type(fmt: OutputFormat, size: str) -> None:
    request = ImageRequest(prompt="a lighthouse at dusk", size=size, output_format=fmt)
    [generated] = PlaceholderImageGenerator().generate(request, user="u1")
    image = open_image(generated.data)
    assert image.format == PILLOW_NAMES[fmt]
    assert image.size == request.dimensions
    assert generated.content_type == f"image/{fmt.value}"


def test_auto_size_renders_a_square() -> None:
    [generated] = PlaceholderImageGenerator().generate(
        ImageRequest(prompt="x", size="auto"), user="u1"
    )
    assert open_image(generated.data).size == (1024, 1024)


def test_the_same_request_gives_the_same_bytes_and_another_prompt_other_bytes() -> None:
    generator = PlaceholderImageGenerator()
    request = ImageRequest(prompt="a lighthouse at dusk", output_format=OutputFormat.WEBP)
    first = generator.generate(request, user="u1")
    again = PlaceholderImageGenerator().generate(request, user="someone else")
    other = generator.generate(ImageRequest(prompt="a lighthouse at dawn"), user="u1")
    assert first[0].data == again[0].data
    assert first[0].data != other[0].data


def test_the_card_colour_comes_from_the_prompt_and_the_text_is_drawn() -> None:
    generator = PlaceholderImageGenerator()
    cards = [
        open_image(generator.generate(ImageRequest(prompt=p, size="256x256"), user="u")[0].data)
        for p in ("a cat", "a dog")
    ]
    corners = [card.convert("RGB").getpixel((255, 128)) for card in cards]
    assert corners[0] != corners[1]
    # The background is at most 75 % bright; only the white letters are brighter.
    bright_pixels = sum(cards[0].convert("L").histogram()[200:])
    assert bright_pixels > 50


def test_n_images_are_returned_and_each_differs() -> None:
    request = ImageRequest(prompt="three foxes", n=3, size="256x256")
    images = PlaceholderImageGenerator().generate(request, user="u1")
    assert len(images) == 3
    assert len({hashlib.sha256(image.data).digest() for image in images}) == 3
    assert all(open_image(image.data).size == (256, 256) for image in images)


def test_delay_is_slept_once_per_generation() -> None:
    slept: list[float] = []
    generator = PlaceholderImageGenerator(delay_ms=250, sleep=slept.append)
    generator.generate(ImageRequest(prompt="x", n=2, size="64x64"), user="u1")
    assert slept == [0.25]


def test_no_delay_means_no_sleep() -> None:
    slept: list[float] = []
    PlaceholderImageGenerator(sleep=slept.append).generate(ImageRequest(prompt="x"), user="u1")
    assert slept == []


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="delay_ms"):
        PlaceholderImageGenerator(delay_ms=-1)


def test_long_and_accented_prompts_render() -> None:
    prompt = "café crème " * 400
    [generated] = PlaceholderImageGenerator().generate(ImageRequest(prompt=prompt), user="u1")
    assert open_image(generated.data).size == (1024, 1024)


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_two_prompts_give_different_images_that_decode_in_every_format(fmt: OutputFormat) -> None:
    generator = PlaceholderImageGenerator()
    images = [
        generator.generate(ImageRequest(prompt=prompt, output_format=fmt), user="u1")[0].data
        for prompt in ("a lighthouse at dusk", "a lighthouse at dawn")
    ]
    assert images[0] != images[1]
    decoded = [open_image(data) for data in images]
    assert all(image.format == PILLOW_NAMES[fmt] for image in decoded)
    # Same colours (the hash differs, so compare shapes): the text's pixels differ, not only
    # the palette, so the prompt itself is what the card shows.
    masks = [image.convert("L").point(lambda level: 255 if level > 200 else 0) for image in decoded]
    assert masks[0].tobytes() != masks[1].tobytes()


def test_the_banded_png_writer_keeps_every_inked_row_and_the_background() -> None:
    # 40 rows: two whole bands of 16 and a last one of 8.
    background_image = Image.frombytes("P", (24, 40), bytes(row % 7 for row in range(24 * 40)))
    base = background(background_image.tobytes(), 24, 40)
    card = background_image.copy()
    for x, y in [(3, 17), (20, 18), (0, 39)]:
        card.putpixel((x, y), 200)
    palette = bytes(range(256)) * 3
    data = encode_png(card, palette, base, [(17, 19), (39, 40)])
    decoded = open_image(data)
    assert decoded.mode == "P"
    assert decoded.tobytes() == card.tobytes()
    assert decoded.getpalette() == list(palette)

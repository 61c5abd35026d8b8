"""Per-model validation at submit time: a request the model would refuse costs nothing."""

from __future__ import annotations

import pytest

from domain.errors import InvalidRequest
from domain.models import ImageRequest, OutputFormat, Quality
from domain.validation import capabilities_for, validate_request


def request(**changes: object) -> ImageRequest:
    values: dict[str, object] = {"prompt": "a red fox", "model": "gpt-image-1.5"} | changes
    return ImageRequest(**values)  # type: ignore[arg-type]


def refused_field(req: ImageRequest, allowed: frozenset[str] | None = None) -> str | None:
    with pytest.raises(InvalidRequest) as caught:
        validate_request(req, allowed)
    return caught.value.field


@pytest.mark.parametrize(
    "model",
    [
        "gpt-image-1-mini",
        "gpt-image-1.5",
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-flare-2026-09-08",
        "gpt-image-2.6-flare",
        "chatgpt-image-latest",
        "placeholder",
    ],
)
def test_current_models_accept_the_standard_request(model: str) -> None:
    for size in ("1024x1024", "1536x1024", "1024x1536", "auto"):
        for fmt in OutputFormat:
            validate_request(request(model=model, size=size, output_format=fmt, n=10))
    for quality in Quality:
        validate_request(request(model=model, quality=quality))


@pytest.mark.parametrize(
    "model", ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-2025-04-15", "dall-e"]
)
def test_retired_models_are_refused_by_name(model: str) -> None:
    with pytest.raises(InvalidRequest, match=r"retired|shut down") as caught:
        validate_request(request(model=model))
    assert caught.value.field == "model"


def test_unknown_models_are_refused_but_new_gpt_image_models_get_the_common_subset() -> None:
    assert refused_field(request(model="stable-diffusion-xl")) == "model"
    assert refused_field(request(model="")) == "model"
    validate_request(request(model="gpt-image-9"))
    assert refused_field(request(model="gpt-image-9", size="1536x864")) == "size"


def test_only_the_configured_models_are_allowed() -> None:
    allowed = frozenset({"gpt-image-2"})
    validate_request(request(model="gpt-image-2"), allowed)
    assert refused_field(request(model="gpt-image-1.5"), allowed) == "model"


def test_prompt_must_be_present_and_at_most_32000_characters() -> None:
    assert refused_field(request(prompt="")) == "prompt"
    assert refused_field(request(prompt="  \n\t")) == "prompt"
    validate_request(request(prompt="x" * 32_000))
    assert refused_field(request(prompt="x" * 32_001)) == "prompt"


@pytest.mark.parametrize("n", [0, -1, 11])
def test_n_is_between_1_and_10(n: int) -> None:
    assert refused_field(request(n=n)) == "n"


@pytest.mark.parametrize("size", ["1536x864", "512x512", "1792x1024", "256x256", "big", ""])
def test_fixed_size_models_take_only_their_sizes(size: str) -> None:
    assert refused_field(request(model="gpt-image-1.5", size=size)) == "size"
    assert refused_field(request(model="gpt-image-2.6-sunburst", size=size)) == "size"


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.5-flare"])
@pytest.mark.parametrize("size", ["1536x864", "3840x2160", "2160x3840", "1024x640", "1920x640"])
def test_free_size_models_take_any_size_within_their_limits(model: str, size: str) -> None:
    validate_request(request(model=model, size=size))


@pytest.mark.parametrize(
    ("size", "why"),
    [
        ("1000x1000", "multiples of 16"),
        ("0x1024", "multiples of 16"),
        ("4096x1024", "at most 3840"),
        ("1968x640", "aspect ratio"),  # 3.075:1
        ("640x1968", "aspect ratio"),
        ("3840x2176", "pixels"),
        ("1008x640", "pixels"),  # under OpenAI's lower bound
        ("1024 x 1024", "one of"),
    ],
)
def test_free_size_models_refuse_sizes_outside_their_limits(size: str, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why) as caught:
        validate_request(request(model="gpt-image-2", size=size))
    assert caught.value.field == "size"


def test_the_placeholder_also_draws_small_images_but_not_huge_ones() -> None:
    validate_request(request(model="placeholder", size="64x64"))
    validate_request(request(model="placeholder", size="16x32"))
    assert refused_field(request(model="placeholder", size="3840x3840")) == "size"
    assert refused_field(request(model="placeholder", size="64x16")) == "size"  # 4:1


def test_snapshots_share_their_family_capabilities() -> None:
    assert capabilities_for("gpt-image-2-2026-04-21") is capabilities_for("gpt-image-2")
    assert capabilities_for("gpt-image-1-mini") is not capabilities_for("gpt-image-2")

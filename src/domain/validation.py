"""What each image model accepts, checked at submit time so that a request the model would
refuse costs nothing (OPENAI.md; the openai SDK's `images.generate` documentation).

Models are looked up by exact name after dropping a dated snapshot suffix
(`gpt-image-2-2026-04-21` → `gpt-image-2`): prefixes would confuse the shut-down `gpt-image-1`
with the current `gpt-image-1-mini` and `gpt-image-1.5`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidRequest
from domain.models import ImageRequest, OutputFormat, Quality

# Every pattern here is used whole (`fullmatch`) and ASCII: `$` also matches before a final
# newline, and `\d` takes any script's digits (which `int()` then reads).
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})", re.ASCII)
_SNAPSHOT = re.compile(r"(.+)-[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)

STANDARD_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})


@dataclass(frozen=True, slots=True)
class FreeSizes:
    """Arbitrary WIDTHxHEIGHT: both sides multiples of `step`, within these limits."""

    step: int = 16
    max_side: int = 3840
    min_pixels: int = 0
    max_pixels: int = 3840 * 2160
    max_ratio: float = 3.0


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    max_prompt_chars: int = 32_000
    max_n: int = 10
    sizes: frozenset[str] = STANDARD_SIZES
    free_sizes: FreeSizes | None = None  # None: only `sizes`
    qualities: frozenset[Quality] = frozenset(Quality)
    formats: frozenset[OutputFormat] = frozenset(OutputFormat)


GPT_IMAGE = ModelCapabilities()
# gpt-image-2 and the 2.5 family: any WxH in multiples of 16, aspect ratio within 3:1, at most
# 3840x2160, and OpenAI's published lower pixel bound (1024x640).
GPT_IMAGE_FREE_SIZE = ModelCapabilities(free_sizes=FreeSizes(min_pixels=655_360))
# The offline renderer follows gpt-image-2 but also draws small images (fast tests, thumbnails).
PLACEHOLDER = ModelCapabilities(free_sizes=FreeSizes(min_pixels=0))

MODEL_FAMILIES: dict[str, ModelCapabilities] = {
    "gpt-image-1-mini": GPT_IMAGE,
    "gpt-image-1.5": GPT_IMAGE,
    "chatgpt-image-latest": GPT_IMAGE,
    "gpt-image-2": GPT_IMAGE_FREE_SIZE,
    "gpt-image-2.5-sunburst": GPT_IMAGE_FREE_SIZE,
    "gpt-image-2.5-flare": GPT_IMAGE_FREE_SIZE,
    "gpt-image-2.6-sunburst": GPT_IMAGE,
    "gpt-image-2.6-flare": GPT_IMAGE,
    "placeholder": PLACEHOLDER,
}

# Retired DALL·E models (May 2026) and the shut-down gpt-image-1 (October 2026).
RETIRED_MODELS: dict[str, str] = {
    "dall-e-2": "was retired on 2026-05-12",
    "dall-e-3": "was retired on 2026-05-12",
    "gpt-image-1": "was shut down on 2026-10-23",
}


def is_safe_id(value: str) -> bool:
    """Whether a job id (from a URL) is safe in a path or an object key: 1-64 of [A-Za-z0-9_-]."""
    return _SAFE_ID.fullmatch(value) is not None


def capabilities_for(model: str) -> ModelCapabilities:
    """What `model` accepts; InvalidRequest for retired or unknown models."""
    if not _MODEL.fullmatch(model):
        raise InvalidRequest(f"Unknown model {model!r}.", field="model")
    snapshot = _SNAPSHOT.fullmatch(model)
    family = snapshot[1] if snapshot else model
    if family in RETIRED_MODELS or family.startswith("dall-e"):
        why = RETIRED_MODELS.get(family, "is retired")
        raise InvalidRequest(f"Model {model!r} {why}; use a GPT image model.", field="model")
    if family in MODEL_FAMILIES:
        return MODEL_FAMILIES[family]
    if family.startswith("gpt-image-"):
        return GPT_IMAGE  # a newer GPT image model: the parameters every GPT image model takes
    raise InvalidRequest(f"Unknown model {model!r}.", field="model")


def validate_request(request: ImageRequest, allowed_models: frozenset[str] | None = None) -> None:
    """Raise InvalidRequest naming the field when `request.model` would refuse the request."""
    if allowed_models is not None and request.model not in allowed_models:
        allowed = ", ".join(sorted(allowed_models))
        raise InvalidRequest(f"model must be one of: {allowed}.", field="model")
    caps = capabilities_for(request.model)
    if not request.prompt.strip():
        raise InvalidRequest("prompt must not be empty.", field="prompt")
    if len(request.prompt) > caps.max_prompt_chars:
        raise InvalidRequest(
            f"prompt is {len(request.prompt)} characters; the limit is {caps.max_prompt_chars}.",
            field="prompt",
        )
    if not 1 <= request.n <= caps.max_n:
        raise InvalidRequest(f"n must be between 1 and {caps.max_n}.", field="n")
    _validate_size(request.size, caps)
    if request.quality not in caps.qualities:
        raise InvalidRequest(f"quality {request.quality!r} is not supported.", field="quality")
    if request.output_format not in caps.formats:
        raise InvalidRequest(
            f"output_format {request.output_format!r} is not supported.", field="output_format"
        )


def _validate_size(size: str, caps: ModelCapabilities) -> None:
    if size in caps.sizes:
        return
    match = _SIZE.fullmatch(size)
    free = caps.free_sizes
    if free is None or match is None:
        allowed = ", ".join(sorted(caps.sizes))
        extra = " or WIDTHxHEIGHT" if free is not None else ""
        raise InvalidRequest(f"size must be one of: {allowed}{extra}.", field="size")
    width, height = int(match[1]), int(match[2])
    if width == 0 or height == 0 or width % free.step or height % free.step:
        raise InvalidRequest(
            f"size: width and height must be positive multiples of {free.step}.", field="size"
        )
    if max(width, height) > free.max_side:
        raise InvalidRequest(f"size: each side must be at most {free.max_side}.", field="size")
    if max(width, height) > free.max_ratio * min(width, height):
        raise InvalidRequest(
            f"size: the aspect ratio must be at most {free.max_ratio:g}:1 either way.",
            field="size",
        )
    pixels = width * height
    if not free.min_pixels <= pixels <= free.max_pixels:
        raise InvalidRequest(
            f"size: the image must have between {free.min_pixels} and {free.max_pixels} pixels.",
            field="size",
        )

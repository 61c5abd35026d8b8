"""What each image model accepts, checked at submit time so that a request the model would
refuse costs nothing (OPENAI.md: GPT image models)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidRequest
from domain.models import ImageRequest, OutputFormat, Quality

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


@dataclass(frozen=True, slots=True)
class ModelCapabilities:
    max_prompt_chars: int = 32_000
    max_n: int = 10
    sizes: frozenset[str] = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
    # Newer models accept any WxH in multiples of 16 within these bounds.
    free_sizes: bool = False
    min_side: int = 16
    max_side: int = 3840
    max_pixels: int = 8_294_400
    qualities: frozenset[Quality] = frozenset(Quality)
    formats: frozenset[OutputFormat] = frozenset(OutputFormat)


GPT_IMAGE = ModelCapabilities()
GPT_IMAGE_FREE_SIZE = ModelCapabilities(free_sizes=True)

# Model name prefix → what it accepts; the longest matching prefix wins.
MODEL_FAMILIES: dict[str, ModelCapabilities] = {
    "gpt-image-1": GPT_IMAGE,
    "gpt-image-1-mini": GPT_IMAGE,
    "gpt-image-1.5": GPT_IMAGE,
    "gpt-image-2": GPT_IMAGE_FREE_SIZE,
    "placeholder": GPT_IMAGE_FREE_SIZE,
}

RETIRED_MODELS = ("dall-e-2", "dall-e-3", "dall-e")


def capabilities_for(model: str) -> ModelCapabilities:
    if model.startswith(RETIRED_MODELS):
        raise InvalidRequest(f"Model {model!r} is retired; use a GPT image model.", field="model")
    matches = [prefix for prefix in MODEL_FAMILIES if model.startswith(prefix)]
    if not matches:
        if model.startswith("gpt-image-"):
            return GPT_IMAGE  # an unknown newer GPT image model: the common subset
        raise InvalidRequest(f"Unknown model {model!r}.", field="model")
    return MODEL_FAMILIES[max(matches, key=len)]


def validate_request(request: ImageRequest, allowed_models: frozenset[str] | None = None) -> None:
    """Raise InvalidRequest naming the field when `request.model` would refuse the request."""
    if allowed_models is not None and request.model not in allowed_models:
        allowed = ", ".join(sorted(allowed_models))
        raise InvalidRequest(f"model must be one of: {allowed}.", field="model")
    caps = capabilities_for(request.model)
    prompt = request.prompt.strip()
    if not prompt:
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
    allowed = ", ".join(sorted(caps.sizes))
    match = _SIZE.match(size)
    if not caps.free_sizes or match is None:
        raise InvalidRequest(f"size must be one of: {allowed}.", field="size")
    width, height = int(match[1]), int(match[2])
    if width % 16 or height % 16:
        raise InvalidRequest("size: width and height must be multiples of 16.", field="size")
    if not (caps.min_side <= min(width, height) and max(width, height) <= caps.max_side):
        raise InvalidRequest(
            f"size: each side must be between {caps.min_side} and {caps.max_side} pixels.",
            field="size",
        )
    if width * height > caps.max_pixels:
        raise InvalidRequest(f"size: at most {caps.max_pixels} pixels.", field="size")

"""What the fake OpenAI server answers: OpenAI's error bodies, parameter checks, real images.

Kept apart from the HTTP plumbing in `openai_server.py`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import time
from typing import Any

from PIL import Image, ImageDraw

RETIRED_MODELS = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1"})
PILLOW_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}

Answer = tuple[int, Any, dict[str, str]]  # status, JSON payload (or raw bytes), headers


def error_body(
    message: str, type_: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# kind → (status, body); bodies follow OpenAI's documented error shapes.
ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "moderation_blocked": (400, error_body(
        "Your request was rejected by the safety system.", "image_generation_user_error",
        "moderation_blocked")),
    "content_policy_violation": (400, error_body(
        "Your request was rejected as a result of our safety system.", "invalid_request_error",
        "content_policy_violation")),
    "invalid_value": (400, error_body(
        "Invalid value: 'size'. Supported values are: '1024x1024', '1024x1536', '1536x1024' and "
        "'auto'.", "invalid_request_error", "invalid_value", "size")),
    "billing_hard_limit": (400, error_body(
        "Billing hard limit has been reached.", "invalid_request_error",
        "billing_hard_limit_reached")),
    "unauthorized": (401, error_body(
        "Incorrect API key provided: sk-***. You can find your API key at "
        "https://platform.openai.com/account/api-keys.", "invalid_request_error",
        "invalid_api_key")),
    "forbidden": (403, error_body(
        "Your organization must be verified to use this model.", "invalid_request_error",
        "permission_denied")),
    "model_not_found": (404, error_body(
        "The model does not exist or you do not have access to it.", "invalid_request_error",
        "model_not_found")),
    "unprocessable": (422, error_body("Unprocessable request.", "invalid_request_error", None)),
    "rate_limited": (429, error_body(
        "Rate limit reached for images per minute (IPM). Please try again in 2s.", "requests",
        "rate_limit_exceeded")),
    "insufficient_quota": (429, error_body(
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota", "insufficient_quota")),
    "server_error": (500, error_body(
        "The server had an error while processing your request. Sorry about that!",
        "server_error", None)),
    "unavailable": (503, error_body(
        "The engine is currently overloaded.", "server_error", None)),
}  # fmt: skip
SUCCESS_KINDS = frozenset({"ok", "slow", "malformed", "missing_b64", "wrong_format"})
KINDS = frozenset(ERRORS) | SUCCESS_KINDS | {"custom"}


def check_entry(entry: dict[str, Any]) -> None:
    if entry.get("kind") not in KINDS:
        raise ValueError(f"unknown kind {entry.get('kind')!r}; known: {sorted(KINDS)}")


def scripted_error(entry: dict[str, Any]) -> Answer:
    """An error kind or a `custom` answer."""
    if entry["kind"] == "custom":
        return int(entry["status"]), entry.get("body", {}), dict(entry.get("headers", {}))
    status, body = ERRORS[entry["kind"]]
    retry_after = entry.get("retry_after", "2") if entry["kind"] == "rate_limited" else None
    return status, body, {} if retry_after is None else {"Retry-After": str(retry_after)}


def render_image(width: int, height: int, output_format: str, seed: bytes) -> bytes:
    """A real image: a colour and a block placed by `seed`, so every call's bytes differ."""
    image = Image.new("RGB", (width, height), (seed[0], seed[1], seed[2]))
    x, y = seed[3] * (width - 1) // 255, seed[4] * (height - 1) // 255
    ImageDraw.Draw(image).rectangle((x // 2, y // 2, x, y), fill=(seed[5], seed[6], seed[7]))
    buffer = io.BytesIO()
    image.save(buffer, PILLOW_FORMATS[output_format])
    return buffer.getvalue()


def dimensions(size: Any) -> tuple[int, int] | None:
    if size == "auto":
        return 1024, 1024
    width, _, height = str(size).partition("x")
    if not (width.isdigit() and height.isdigit()):
        return None
    w, h = int(width), int(height)
    if not w or not h or w % 16 or h % 16 or w * h > 3840 * 2160:
        return None
    return w, h


def _invalid(param: str, message: str) -> Answer:
    return 400, error_body(message, "invalid_request_error", "invalid_value", param), {}


def refuse_params(body: Any) -> Answer | None:
    """The 400/404 a real GPT image endpoint gives for this body; None when it is fine."""
    if not isinstance(body, dict):
        return (
            400,
            error_body("We could not parse the JSON body.", "invalid_request_error", None),
            {},
        )
    if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
        return _invalid("prompt", "Missing required parameter: 'prompt'.")
    model = body.get("model")
    if not isinstance(model, str):
        return _invalid("model", "Specify a model explicitly.")
    if model in RETIRED_MODELS:
        return (*ERRORS["model_not_found"], {})
    if body.get("response_format") not in (None, "b64_json"):
        return _invalid("response_format", "Unknown parameter: 'response_format'.")
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 10:
        return _invalid("n", "n must be between 1 and 10.")
    if body.get("quality", "auto") not in ("low", "medium", "high", "auto"):
        return _invalid("quality", "Invalid value for 'quality'.")
    if body.get("output_format", "png") not in PILLOW_FORMATS:
        return _invalid("output_format", "Invalid value for 'output_format'.")
    if dimensions(body.get("size", "auto")) is None:
        return (*ERRORS["invalid_value"], {})
    return None


def success(kind: str, body: dict[str, Any], call: int, served_sha256: list[str]) -> Answer:
    """200 with n real images (`kind` may spoil it); appends each image's sha256."""
    if kind == "malformed":
        return 200, b'{"created": 1, "data": [{"b64_json": "iVBO', {}
    asked = body.get("output_format", "png")
    served = ("jpeg" if asked == "png" else "png") if kind == "wrong_format" else asked
    width, height = dimensions(body.get("size", "auto")) or (1024, 1024)
    data: list[dict[str, str]] = []
    for index in range(body.get("n", 1)):
        seed = hashlib.sha256(f"{call}:{index}:{body['prompt']}".encode()).digest()
        if kind == "missing_b64":
            data.append({"revised_prompt": body["prompt"]})
            continue
        image = render_image(width, height, served, seed)
        served_sha256.append(hashlib.sha256(image).hexdigest())
        data.append({"b64_json": base64.b64encode(image).decode()})
    quality = body.get("quality", "auto")
    payload = {
        "created": int(time.time()),
        "data": data,
        "background": "opaque",
        "output_format": asked,
        "size": f"{width}x{height}",
        "quality": "medium" if quality == "auto" else quality,
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": 12},
            "output_tokens": 272 * len(data),
            "total_tokens": 12 + 272 * len(data),
        },
    }
    return 200, payload, {}

"""The ImageGenerator on OpenAI's GPT image models (OPENAI.md), through the official SDK.

The SDK's own retries are off (`max_retries=0`): the worker's retry policy decides, and the SDK
would otherwise retry `insufficient_quota` and wait up to 600 s. Every SDK exception becomes a
domain GenerationError here; none leaves this module.

Answers that are not what we asked for:
- unparseable JSON, no `data`, an item without `b64_json`, bytes that are not an image →
  UpstreamUnavailable (transient): a truncated or garbled answer, worth a bounded retry;
- well-formed images in another format, or another number of images than `n` → a permanent
  GenerationError (`internal`): the model would do it again, so a retry would only pay twice.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import openai
from openai.types import ImagesResponse
from PIL import Image, UnidentifiedImageError

from domain.errors import (
    ContentPolicyViolation,
    GenerationError,
    UpstreamAuthError,
    UpstreamInvalidRequest,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from domain.models import GeneratedImage, ImageRequest, OutputFormat

log = logging.getLogger("imagegate.openai")

CONTENT_POLICY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
_PILLOW_FORMATS = {"PNG": OutputFormat.PNG, "JPEG": OutputFormat.JPEG, "WEBP": OutputFormat.WEBP}
_MAX_DETAIL = 300


class OpenAIImageGenerator:
    """Satisfies `domain.ports.ImageGenerator`. One SDK client (one connection pool) per
    instance; the composition root builds one per worker process and threads share it."""

    def __init__(
        self, *, api_key: str, model: str, timeout: float, base_url: str | None = None
    ) -> None:
        self._model = model
        self._timeout = timeout
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        """`user` is already a hash of the key id; it goes out as `safety_identifier`."""
        try:
            response = self._client.images.generate(
                model=self._model,
                prompt=request.prompt,
                n=request.n,
                size=request.size,
                quality=request.quality.value,
                output_format=request.output_format.value,
                safety_identifier=user,
            )
        except openai.APITimeoutError:
            log.warning(
                "OpenAI image request timed out after %ss; OpenAI may still bill it and the SDK "
                "sends no idempotency key, so a retry may double-charge the operator",
                self._timeout,
            )
            raise UpstreamTimeout() from None
        except openai.APIConnectionError as exc:
            log.warning("OpenAI image request failed to connect: %s", exc)
            raise UpstreamUnavailable() from None
        except openai.APIStatusError as exc:
            raise classify_status_error(exc) from None
        except (openai.OpenAIError, ValueError) as exc:  # a 200 whose body is not JSON
            log.warning("OpenAI answered an unreadable body: %r", exc)
            raise UpstreamUnavailable("The image provider sent an unreadable answer.") from None
        return decode_images(response, request)

    def close(self) -> None:
        self._client.close()


def classify_status_error(exc: openai.APIStatusError) -> GenerationError:
    """OPENAI.md's error table. Billing-limit codes count as quota whatever the status."""
    status, code, kind = exc.status_code, exc.code or "", exc.type or ""
    if status in (401, 403):
        log.error(
            "OpenAI refused the operator's credentials (HTTP %s, code %s, request %s): check "
            "OPENAI_API_KEY and the project's access to the image model",
            status,
            code or kind or "-",
            exc.request_id,
        )
        return UpstreamAuthError()
    if _is_quota(code) or _is_quota(kind):
        log.error("OpenAI account is out of quota (HTTP %s, code %s)", status, code or kind)
        return UpstreamQuotaExhausted()
    if status == 429:
        return UpstreamRateLimited(retry_after=retry_after_seconds(exc.response.headers))
    if status >= 500 or status in (408, 409):
        log.warning("OpenAI answered HTTP %s (request %s)", status, exc.request_id)
        return UpstreamUnavailable(retry_after=retry_after_seconds(exc.response.headers))
    if code in CONTENT_POLICY_CODES:
        return ContentPolicyViolation(_detail(exc) or None)
    return UpstreamInvalidRequest(_detail(exc) or None)


def _is_quota(code: str) -> bool:
    return code == "insufficient_quota" or code.startswith("billing_")


def _detail(exc: openai.APIStatusError) -> str:
    """OpenAI's own message (it says which parameter or what the safety system refused)."""
    message = exc.body.get("message") if isinstance(exc.body, dict) else None
    return str(message)[:_MAX_DETAIL] if message else ""


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """`retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None when absent."""
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        raw = headers.get("retry-after")
        if raw is None:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            when = parsedate_to_datetime(raw).timestamp()
            return max(0.0, when - (time.time() if now is None else now))
    except (ValueError, TypeError, OverflowError):
        return None


def decode_images(response: object, request: ImageRequest) -> list[GeneratedImage]:
    """The images as bytes, each checked to be an image of the asked format."""
    data = response.data if isinstance(response, ImagesResponse) else None
    if not data:
        raise UpstreamUnavailable("The image provider answered without images.")
    if len(data) != request.n:
        log.error("OpenAI returned %s images for n=%s", len(data), request.n)
        raise GenerationError(f"The image provider returned {len(data)} of {request.n} images.")
    images = []
    for item in data:
        if not item.b64_json:
            raise UpstreamUnavailable("The image provider answered without image data.")
        try:
            raw = base64.b64decode(item.b64_json, validate=True)
        except (binascii.Error, ValueError):
            raise UpstreamUnavailable("The image provider sent undecodable image data.") from None
        found = sniff_format(raw)
        if found is None:
            raise UpstreamUnavailable("The image provider sent bytes that are not an image.")
        if found is not request.output_format:
            log.error("OpenAI returned %s for output_format=%s", found, request.output_format)
            raise GenerationError(
                f"The image provider returned {found.value} instead of "
                f"{request.output_format.value}."
            )
        images.append(GeneratedImage(data=raw, content_type=found.content_type))
    return images


def sniff_format(data: bytes) -> OutputFormat | None:
    """The image format of `data` when Pillow reads it as png, jpeg or webp; else None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = _PILLOW_FORMATS.get(image.format or "")
            image.verify()  # structure and checksums, without decoding the pixels
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    return found

"""The real openai SDK against the fake OpenAI server on loopback (OPENAI.md's error table)."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

import openai
import pytest
from PIL import Image

from adapters.openai_images import OpenAIImageGenerator
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
from domain.generation import end_user_id
from domain.models import ImageRequest, OutputFormat, Quality
from tests.fakes.openai_responses import render_image
from tests.ports import free_port

if TYPE_CHECKING:
    from tests.fakes.openai_fixtures import FakeOpenAI

pytest_plugins = ["tests.fakes.openai_fixtures"]

MODEL = "gpt-image-1.5"
USER = end_user_id("key_abc123")


@pytest.fixture
def generator(fake_openai: FakeOpenAI) -> Iterator[OpenAIImageGenerator]:
    adapter = OpenAIImageGenerator(
        api_key=fake_openai.api_key, model=MODEL, timeout=5.0, base_url=fake_openai.base_url
    )
    yield adapter
    adapter.close()


def ask(**changes: object) -> ImageRequest:
    values: dict[str, object] = {"prompt": "a red fox in snow", "model": MODEL} | changes
    return ImageRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_success_returns_the_served_images_in_the_asked_size_and_format(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI, fmt: OutputFormat
) -> None:
    images = generator.generate(ask(n=2, size="1536x1024", output_format=fmt), user=USER)

    assert len(images) == 2
    for generated in images:
        decoded = Image.open(io.BytesIO(generated.data))
        assert decoded.format == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}[fmt.value]
        assert decoded.size == (1536, 1024)
        assert generated.content_type == f"image/{fmt.value}"
    [seen] = fake_openai.requests()
    assert [hashlib.sha256(i.data).hexdigest() for i in images] == seen["image_sha256"]


def test_the_request_carries_the_configured_model_and_a_hashed_user_never_the_key(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    generator.generate(ask(size="1024x1536", quality=Quality.HIGH), user=USER)

    [seen] = fake_openai.requests()
    body = seen["body"]
    assert body["model"] == MODEL
    assert body["safety_identifier"] == USER
    assert fake_openai.api_key not in body["safety_identifier"]
    assert "key_abc123" not in body["safety_identifier"]
    assert body | {"safety_identifier": None} == {
        "model": MODEL,
        "prompt": "a red fox in snow",
        "n": 1,
        "size": "1024x1536",
        "quality": "high",
        "output_format": "png",
        "safety_identifier": None,
    }
    assert seen["headers"]["authorization"] == f"Bearer {fake_openai.api_key}"
    assert seen["headers"]["x-stainless-retry-count"] == "0"


ERROR_TABLE = [
    ("moderation_blocked", ContentPolicyViolation, "content_policy"),
    ("content_policy_violation", ContentPolicyViolation, "content_policy"),
    ("invalid_value", UpstreamInvalidRequest, "invalid_request"),
    ("model_not_found", UpstreamInvalidRequest, "invalid_request"),  # 404
    ("unprocessable", UpstreamInvalidRequest, "invalid_request"),  # 422
    ("unauthorized", UpstreamAuthError, "upstream_auth"),  # 401
    ("forbidden", UpstreamAuthError, "upstream_auth"),  # 403
    ("insufficient_quota", UpstreamQuotaExhausted, "upstream_quota"),  # 429
    ("billing_hard_limit", UpstreamQuotaExhausted, "upstream_quota"),  # 400
    ("rate_limited", UpstreamRateLimited, "upstream_unavailable"),
    ("server_error", UpstreamUnavailable, "upstream_unavailable"),  # 500
    ("unavailable", UpstreamUnavailable, "upstream_unavailable"),  # 503
    ("malformed", UpstreamUnavailable, "upstream_unavailable"),
    ("missing_b64", UpstreamUnavailable, "upstream_unavailable"),
]
TRANSIENT = {UpstreamRateLimited, UpstreamUnavailable}


def vendor_errors_in_chain(exc: BaseException) -> list[BaseException]:
    """What a traceback of `exc` would show of the SDK's exceptions."""
    shown = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return [shown] if isinstance(shown, openai.OpenAIError) else []


@pytest.mark.parametrize(("kind", "error", "code"), ERROR_TABLE)
def test_each_upstream_answer_maps_to_its_domain_error_after_exactly_one_call(
    generator: OpenAIImageGenerator,
    fake_openai: FakeOpenAI,
    kind: str,
    error: type[GenerationError],
    code: str,
) -> None:
    fake_openai.script(kind)
    with pytest.raises(GenerationError) as caught:
        generator.generate(ask(), user=USER)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert caught.value.transient is (error in TRANSIENT)
    assert not vendor_errors_in_chain(caught.value)
    assert fake_openai.stats()["calls"] == 1  # max_retries=0: the SDK did not retry


def test_a_safety_refusal_tells_the_user_what_openai_said(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script("moderation_blocked")
    with pytest.raises(ContentPolicyViolation, match="rejected by the safety system"):
        generator.generate(ask(), user=USER)


@pytest.mark.parametrize(
    "error",
    [
        {"message": "No money.", "type": "insufficient_quota", "param": None, "code": None},
        {"message": "Limit.", "type": "requests", "param": None, "code": "billing_not_active"},
    ],
)
def test_quota_is_recognised_by_type_or_by_billing_code(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI, error: dict[str, object]
) -> None:
    fake_openai.script({"kind": "custom", "status": 429, "body": {"error": error}})
    with pytest.raises(UpstreamQuotaExhausted):
        generator.generate(ask(), user=USER)


def test_a_wrong_operator_key_fails_loudly_once_without_logging_the_key(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "sk-wrong-operator-key-987654321"
    adapter = OpenAIImageGenerator(
        api_key=wrong_key, model=MODEL, timeout=5.0, base_url=fake_openai.base_url
    )
    with caplog.at_level(logging.INFO), pytest.raises(UpstreamAuthError):
        adapter.generate(ask(), user=USER)
    adapter.close()

    assert fake_openai.requests()[0]["status"] == 401
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(loud) == 1
    assert "OPENAI_API_KEY" in loud[0].getMessage()
    assert all(wrong_key not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0.5", 0.5), (None, None), ("soon", None)],
)
def test_rate_limit_carries_retry_after_seconds(
    generator: OpenAIImageGenerator,
    fake_openai: FakeOpenAI,
    header: str | None,
    expected: float | None,
) -> None:
    fake_openai.script({"kind": "rate_limited", "retry_after": header})
    with pytest.raises(UpstreamRateLimited) as caught:
        generator.generate(ask(), user=USER)
    assert caught.value.retry_after == expected


def test_rate_limit_retry_after_as_an_http_date(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fake_openai.script({"kind": "rate_limited", "retry_after": when})
    with pytest.raises(UpstreamRateLimited) as caught:
        generator.generate(ask(), user=USER)
    assert caught.value.retry_after is not None
    assert 27 <= caught.value.retry_after <= 30


def test_a_timeout_is_reported_within_the_timeout_and_warns_of_double_charges(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = OpenAIImageGenerator(
        api_key=fake_openai.api_key, model=MODEL, timeout=1.0, base_url=fake_openai.base_url
    )
    fake_openai.script({"kind": "slow", "delay": 5})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(UpstreamTimeout) as caught:
        adapter.generate(ask(), user=USER)
    elapsed = time.monotonic() - started
    adapter.close()

    assert 0.9 <= elapsed < 2.0
    assert caught.value.transient
    assert any("double-charge" in r.getMessage() for r in caplog.records)
    assert fake_openai.stats()["calls"] == 1


def test_an_unreachable_server_is_unavailable() -> None:
    adapter = OpenAIImageGenerator(
        api_key="sk-x", model=MODEL, timeout=2.0, base_url=f"http://127.0.0.1:{free_port()}/v1"
    )
    with pytest.raises(UpstreamUnavailable):
        adapter.generate(ask(), user=USER)


def test_an_image_in_another_format_fails_permanently(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script("wrong_format")
    with pytest.raises(GenerationError, match="jpeg instead of png") as caught:
        generator.generate(ask(output_format=OutputFormat.PNG), user=USER)
    assert type(caught.value) is GenerationError
    assert not caught.value.transient


@pytest.mark.parametrize(
    "body",
    [
        "not an object",
        {"created": 1},
        {"created": 1, "data": []},
        {"created": 1, "data": [{"b64_json": "!!! not base64 !!!"}]},
        {"created": 1, "data": [{"b64_json": "bm90IGFuIGltYWdl"}]},  # "not an image"
    ],
)
def test_odd_success_bodies_are_transient_errors(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI, body: object
) -> None:
    fake_openai.script({"kind": "custom", "status": 200, "body": body})
    with pytest.raises(UpstreamUnavailable):
        generator.generate(ask(), user=USER)


def test_fewer_images_than_asked_fail_permanently(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    png = base64.b64encode(render_image(64, 64, "png", bytes(range(8)))).decode()
    body = {"created": 1, "data": [{"b64_json": png}]}
    fake_openai.script({"kind": "custom", "status": 200, "body": body})
    with pytest.raises(GenerationError, match="1 of 2 images") as caught:
        generator.generate(ask(n=2), user=USER)
    assert not caught.value.transient


def test_retry_after_ms_is_preferred(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    headers = {"retry-after-ms": "1500", "Retry-After": "9"}
    body = {"error": {"message": "Slow down.", "type": "requests", "code": "rate_limit_exceeded"}}
    fake_openai.script({"kind": "custom", "status": 429, "body": body, "headers": headers})
    with pytest.raises(UpstreamRateLimited) as caught:
        generator.generate(ask(), user=USER)
    assert caught.value.retry_after == 1.5


def test_server_errors_twice_then_success(
    generator: OpenAIImageGenerator, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script({"kind": "server_error", "times": 2})
    outcomes: list[str] = []
    for _ in range(3):
        try:
            generator.generate(ask(), user=USER)
            outcomes.append("ok")
        except UpstreamUnavailable:
            outcomes.append("unavailable")
    assert outcomes == ["unavailable", "unavailable", "ok"]
    assert [r["status"] for r in fake_openai.requests()] == [500, 500, 200]


def test_the_fake_also_runs_as_a_separate_process(fake_openai_process: FakeOpenAI) -> None:
    adapter = OpenAIImageGenerator(
        api_key=fake_openai_process.api_key,
        model=MODEL,
        timeout=5.0,
        base_url=fake_openai_process.base_url,
    )
    [image] = adapter.generate(ask(output_format=OutputFormat.JPEG), user=USER)
    fake_openai_process.script("insufficient_quota")
    with pytest.raises(UpstreamQuotaExhausted):
        adapter.generate(ask(), user=USER)
    adapter.close()

    assert fake_openai_process.served_sha256() == {hashlib.sha256(image.data).hexdigest()}
    assert fake_openai_process.stats()["calls"] == 2

"""The playground page and the docs UI in a real headless Chromium, against real processes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import browser_page, screenshot
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def foreign(requests: list[str], stack: Stack) -> list[str]:
    own = urlsplit(stack.url).netloc
    return [
        url
        for url in requests
        if not url.startswith(("blob:", "data:")) and urlsplit(url).netloc != own
    ]


def test_mint_generate_and_see_the_image_with_no_request_elsewhere(stack: Stack) -> None:
    requests: list[str] = []
    with browser_page(requests) as page:
        page.goto(stack.url + "/")
        mint = page.get_by_role("button", name="Get a key")
        mint.focus()
        page.keyboard.press("Enter")  # operable from the keyboard
        credits = page.locator("#credits")
        credits.filter(has_text="10").wait_for(timeout=15_000)
        cookie = next(c for c in page.context.cookies() if c["name"] == "imagegate_key")
        assert cookie["httpOnly"]

        page.get_by_label("Prompt").fill("a lighthouse at dusk")
        page.get_by_label("Number of images").fill("1")
        page.get_by_label("Size").select_option("1024x1024")
        page.get_by_label("Quality").select_option("low")
        page.get_by_label("Format").select_option("png")
        page.get_by_role("button", name="Generate").click()

        image = page.locator("#images img")
        image.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => { const i = document.querySelector('#images img');"
            " return i && i.complete && i.naturalWidth === 1024; }",
            timeout=15_000,
        )
        credits.filter(has_text="9").wait_for(timeout=15_000)
        assert "succeeded" in page.locator("#job-status").inner_text()
        page.locator("#jobs li", has_text="succeeded").wait_for(timeout=15_000)
        screenshot(page, "playground.png")

        # A refusal for lack of credits says when they come back.
        page.get_by_label("Number of images").fill("10")
        page.get_by_role("button", name="Generate").click()
        page.locator("#message", has_text="come back").wait_for(timeout=15_000)
        assert page.locator("#credits").inner_text() == "9"

    assert any(url.endswith("/v1/images/generations") for url in requests)
    assert foreign(requests, stack) == []


def test_the_docs_ui_loads_everything_from_the_app(stack: Stack) -> None:
    requests: list[str] = []
    with browser_page(requests) as page:
        page.goto(stack.url + "/schema")
        page.locator(".swagger-ui .info .title", has_text="imagegate").wait_for(timeout=20_000)
        page.locator(".opblock-summary-path", has_text="/v1/images/generations").first.wait_for()
        screenshot(page, "docs.png")
    assert any(url.endswith("swagger-ui-bundle.js") for url in requests)
    assert any("favicon" in url for url in requests)
    assert foreign(requests, stack) == []

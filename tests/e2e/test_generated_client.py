"""The live OpenAPI document is valid (openapi-spec-validator) and a client generated from it
by openapi-python-client works: it mints a key, submits with the Bearer scheme the document
declares, polls the job to `succeeded` and downloads the image."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tests.e2e.stack import Stack

PACKAGE = "imagegate_generated"


def generate_client(document: Path, into: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("openapi-python-client")),
        "generate",
        "--path",
        str(document),
        "--meta",
        "none",
        "--output-path",
        str(into / PACKAGE),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=into)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_live_document_is_valid_and_declares_the_key_schemes(stack: Stack) -> None:
    document = httpx.get(stack.url + "/schema/openapi.json", timeout=10).json()
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert (
        schemes["keyCookie"]["in"] == "cookie" and schemes["keyCookie"]["name"] == "imagegate_key"
    )
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("description"), f"{method} {path} has no description"
            for status, response in operation["responses"].items():
                for media_type, content in response.get("content", {}).items():
                    if status.startswith("2") and media_type == "application/json":
                        assert "example" in content, f"{method} {path} {status} has no example"


@pytest.mark.timeout(240)
def test_a_generated_client_mints_submits_polls_and_downloads(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(stack.url + "/schema/openapi.json", timeout=10).content)
    generate_client(document, tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    client_module: Any = importlib.import_module(f"{PACKAGE}.client")
    api = f"{PACKAGE}.api"
    create_key: Any = importlib.import_module(f"{api}.keys.v1_keys_create_key")
    submit: Any = importlib.import_module(f"{api}.images.v1_images_generations_create_generation")
    read_job: Any = importlib.import_module(f"{api}.jobs.v1_jobs_job_id_read_job")
    read_image: Any = importlib.import_module(f"{api}.jobs.v1_jobs_job_id_images_index_read_image")
    models: Any = importlib.import_module(f"{PACKAGE}.models")

    public = client_module.Client(base_url=stack.url)
    created = create_key.sync(client=public)
    assert isinstance(created, models.KeyCreated), created
    # AuthenticatedClient sends `Authorization: Bearer <token>`: the `bearer` scheme.
    client = client_module.AuthenticatedClient(base_url=stack.url, token=created.key)
    body = models.GenerationBody(
        prompt="a generated client's lighthouse", size=models.GenerationBodySize("1024x1024")
    )
    job = submit.sync(client=client, body=body)
    assert isinstance(job, models.JobOut), job
    deadline = time.monotonic() + 60
    while job.status.value not in {"succeeded", "failed", "canceled"}:
        assert time.monotonic() < deadline, f"job still {job.status.value}"
        job = read_job.sync(job.id, client=client, prefer="wait=5")
        assert isinstance(job, models.JobOut), job
    assert job.status.value == "succeeded", job.error
    image = read_image.sync_detailed(job.id, 0, client=client)
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    assert image.headers["content-type"] == job.images[0].content_type

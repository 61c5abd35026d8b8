"""An S3 emulator on loopback for tests: moto's server mode (real HTTP, real boto3 client code).

Register with `pytest_plugins = ["tests.fakes.s3_fixtures"]` in a test module.
- `s3_server` — one moto server for the session, as an `S3Emulator` (endpoint, credentials).
- `s3` — that server with a fresh, empty bucket for the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class S3Emulator:
    endpoint_url: str
    bucket: str = ""

    @property
    def env(self) -> dict[str, str]:
        """What points a process (and boto3 in it) at this emulator's bucket."""
        return {
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "S3_ENDPOINT_URL": self.endpoint_url,
        }

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Emulator]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Emulator(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server: S3Emulator) -> S3Emulator:
    emulator = S3Emulator(s3_server.endpoint_url, bucket=f"images-{uuid.uuid4().hex[:12]}")
    emulator.client().create_bucket(Bucket=emulator.bucket)
    return emulator

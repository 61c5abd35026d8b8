"""S3ImageStore against moto's S3 server on loopback: the real boto3 client over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from adapters.fs_images import FilesystemImageStore
from adapters.s3_images import S3ImageStore, parse_s3_url, s3_client
from domain.errors import StoreUnavailable
from domain.models import GeneratedImage
from entrypoints.factories import build_image_store
from entrypoints.settings import ConfigError, Settings
from tests.e2e.stack import free_port

if TYPE_CHECKING:
    from tests.fakes.s3_fixtures import S3Emulator

pytest_plugins = ["tests.fakes.s3_fixtures"]

PNG = GeneratedImage(data=b"\x89PNG\r\n\x1a\nnot really", content_type="image/png")
WEBP = GeneratedImage(data=b"RIFF....WEBP", content_type="image/webp")


@pytest.fixture
def store(s3: S3Emulator) -> S3ImageStore:
    return S3ImageStore(s3.client(), s3.bucket, "tenant/images/")


def test_put_then_get_round_trips_under_the_prefix(store: S3ImageStore, s3: S3Emulator) -> None:
    stored = store.put("job_abc", 1, 0, PNG)
    store.put("job_abc", 1, 1, WEBP)
    assert (stored.index, stored.content_type, stored.size) == (0, "image/png", len(PNG.data))
    assert store.get("job_abc", 1, 0) == PNG.data
    assert store.get("job_abc", 1, 1) == WEBP.data
    assert s3.keys() == ["tenant/images/job_abc/1/0.img", "tenant/images/job_abc/1/1.img"]
    head = s3.client().head_object(Bucket=s3.bucket, Key="tenant/images/job_abc/1/1.img")
    assert head["ContentType"] == "image/webp"


def test_missing_images_and_unsafe_ids_read_as_none(store: S3ImageStore) -> None:
    store.put("job_abc", 1, 0, PNG)
    assert store.get("job_abc", 1, 1) is None
    assert store.get("job_other", 1, 0) is None
    assert store.get("../job_abc", 1, 0) is None
    assert store.get("job_abc/../job_abc", 1, 0) is None
    with pytest.raises(ValueError, match="invalid job id"):
        store.put("a/b", 1, 0, PNG)


def test_delete_removes_one_attempts_images_only(store: S3ImageStore, s3: S3Emulator) -> None:
    store.put("job_a", 1, 0, PNG)
    store.put("job_a", 1, 1, PNG)
    store.put("job_ab", 1, 0, PNG)  # shares a prefix with job_a's name, not its folder
    store.delete("job_a", 1)
    store.put("job_ab", 2, 0, PNG)  # another attempt of job_ab: kept apart
    store.delete("job_ab", 1)
    store.delete("job_never_stored", 1)
    assert s3.keys() == ["tenant/images/job_ab/2/0.img"]
    assert store.get("job_a", 1, 0) is None


def test_an_unreachable_store_is_a_store_unavailable_error(
    s3: S3Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    store = S3ImageStore(s3_client(endpoint_url=f"http://127.0.0.1:{free_port()}"), "b")
    with pytest.raises(StoreUnavailable):
        store.get("job_abc", 1, 0)
    with pytest.raises(StoreUnavailable):
        store.put("job_abc", 1, 0, PNG)


def test_from_url_uses_the_endpoint_and_the_standard_aws_variables(
    s3: S3Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    store = S3ImageStore.from_url(f"s3://{s3.bucket}", endpoint_url=s3.endpoint_url)
    store.ping()
    store.put("job_x", 1, 0, PNG)
    assert s3.keys() == ["job_x/1/0.img"]  # no prefix: objects at the bucket's root
    missing = S3ImageStore.from_url("s3://no-such-bucket/p", endpoint_url=s3.endpoint_url)
    with pytest.raises(Exception, match=r"404|Not Found"):
        missing.ping()


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    with pytest.raises(ValueError, match="s3://"):
        parse_s3_url("https://bucket/a")


def test_settings_pick_the_store_and_refuse_a_bad_url(s3: S3Emulator) -> None:
    base = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    settings = Settings.from_env({**base, "IMAGE_STORE_DIR": "/tmp/x"}, env_file=None)
    assert isinstance(build_image_store(settings), FilesystemImageStore)
    s3_env = {**base, "IMAGE_STORE_URL": f"s3://{s3.bucket}/p", **s3.env}
    settings = Settings.from_env(s3_env, env_file=None)
    assert settings.s3_endpoint_url == s3.endpoint_url
    assert isinstance(build_image_store(settings), S3ImageStore)
    assert f"store=s3://{s3.bucket}/p" in settings.describe()
    for bad in ("http://bucket/p", "s3://", "bucket"):
        with pytest.raises(ConfigError, match="IMAGE_STORE_URL"):
            Settings.from_env({**base, "IMAGE_STORE_URL": bad}, env_file=None)


def test_purge_deletes_only_images_stored_before_the_cutoff(store: S3ImageStore) -> None:
    store.put("job_old", 1, 0, GeneratedImage(b"old", "image/png"))
    cutoff = datetime.now(UTC) + timedelta(seconds=1)
    assert store.purge(cutoff - timedelta(hours=1), limit=10) == 0
    assert store.purge(cutoff, limit=10) == 1
    assert store.get("job_old", 1, 0) is None

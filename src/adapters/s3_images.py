"""Image bytes in S3 or any S3-compatible store (MinIO, R2, Ceph, moto…).

`IMAGE_STORE_URL=s3://bucket/prefix` names the place; `S3_ENDPOINT_URL` points at a store other
than AWS; credentials and region come from the standard AWS variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION…) or an instance role, read by boto3 itself.
Objects are `<prefix>/<job id>/<attempt>/<index>.img` with their content type: each attempt
of a job writes its own, so an attempt that lost its job deletes only what it wrote. Expiry is
the bucket's lifecycle rule (docs/DEPLOY.md), not ours: S3 does that better than a sweeper.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import StoreUnavailable
from domain.models import GeneratedImage, StoredImage
from domain.validation import is_safe_id

_MISSING = {"NoSuchKey", "404", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix"); the prefix may be empty."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"expected s3://bucket[/prefix], got {url!r}")
    return parts.netloc, parts.path.strip("/")


def s3_client(*, endpoint_url: str | None = None, max_connections: int = 50) -> Any:
    """A thread-safe S3 client. Path-style addressing for custom endpoints: most S3-compatible
    stores (and an IP-addressed endpoint) do not serve bucket subdomains."""
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=max_connections,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


class S3ImageStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self._s3 = client
        self._bucket = bucket
        self._prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None, **client: Any) -> S3ImageStore:
        bucket, prefix = parse_s3_url(url)
        return cls(s3_client(endpoint_url=endpoint_url, **client), bucket, prefix)

    def _attempt_prefix(self, job_id: str, attempt: int) -> str:
        if not is_safe_id(job_id):  # ids come from URLs: never let one name another key
            raise ValueError("invalid job id")
        return f"{self._prefix}{job_id}/{int(attempt)}/"

    def put(self, job_id: str, attempt: int, index: int, image: GeneratedImage) -> StoredImage:
        key = f"{self._attempt_prefix(job_id, attempt)}{int(index)}.img"
        try:
            self._s3.put_object(
                Bucket=self._bucket, Key=key, Body=image.data, ContentType=image.content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"storing the image failed: {_describe(exc)}") from exc
        return StoredImage(index, image.content_type, len(image.data), attempt)

    def get(self, job_id: str, attempt: int, index: int) -> bytes | None:
        try:
            key = f"{self._attempt_prefix(job_id, attempt)}{int(index)}.img"
        except ValueError:
            return None
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=key)
            data: bytes = answer["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise StoreUnavailable() from exc
        except BotoCoreError as exc:
            raise StoreUnavailable() from exc
        return data

    def delete(self, job_id: str, attempt: int) -> None:
        prefix = self._attempt_prefix(job_id, attempt)
        listed = self._s3.list_objects_v2(Bucket=self._bucket, Prefix=prefix)
        objects = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
        if objects:
            self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})

    def purge(self, before: datetime, limit: int) -> int:
        """Deletes objects older than `before`, a page at a time. A bucket lifecycle rule does
        the same without any requests from us (docs/DEPLOY.md); this keeps a bucket without
        one from growing forever."""
        listed = self._s3.list_objects_v2(
            Bucket=self._bucket, Prefix=self._prefix, MaxKeys=min(1000, limit * 10)
        )
        stale = [item for item in listed.get("Contents", []) if item["LastModified"] < before]
        if stale:
            objects = [{"Key": item["Key"]} for item in stale]
            self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True})
        return len({item["Key"].rsplit("/", 3)[-3] for item in stale})

    def ping(self) -> None:
        """Raises unless the bucket exists and these credentials may use it."""
        self._s3.head_bucket(Bucket=self._bucket)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: Exception) -> str:
    return _code(exc) if isinstance(exc, ClientError) else type(exc).__name__

"""The S3 media store: objects in one bucket via boto3, on AWS or any S3-compatible server.

Every boto3 call runs in a worker thread (``asyncio.to_thread``), so the event loop never waits on
the network. Failures become one-line ``MediaStoreError`` messages; a failed ``put`` leaves nothing
behind, since S3 makes an object visible only once it is whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from typing import Any
from urllib.parse import unquote, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from dramatis.adapters.media_files import check_key, verify
from dramatis.ports import MediaNotFound, MediaStoreError

_MISSING_BUCKET = {"NoSuchBucket"}
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}


class S3MediaStore:
    """Objects in ``bucket`` (an ``endpoint_url`` selects an S3-compatible server)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        max_attempts: int = 2,
    ) -> None:
        if not bucket.strip():
            raise ValueError("an S3 media store needs a bucket name")
        self.bucket = bucket.strip()
        self.endpoint_url = endpoint_url or None
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.prefix = prefix.strip("/")
        self.description = f"s3://{self.bucket}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )
        self._config = Config(
            signature_version="s3v4",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path"} if self.endpoint_url else None,
        )
        self._client: Any = None
        self._client_lock = threading.Lock()

    # ------------------------------------------------------------ the port

    async def put(self, key: str, data: bytes, media_type: str) -> str:
        return await asyncio.to_thread(self._put, key, data, media_type)

    async def get(self, url: str, sha256: str | None = None) -> bytes:
        return await asyncio.to_thread(self._get, url, sha256)

    async def list(self, prefix: str = "") -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    def owns(self, url: str) -> bool:
        parsed = urlparse(url)
        return parsed.scheme == "s3" and parsed.netloc == self.bucket

    # ------------------------------------------------------------ blocking parts

    def _client_or_new(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    config=self._config,
                )
            return self._client

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _put(self, key: str, data: bytes, media_type: str) -> str:
        object_key = self._object_key(key)
        digest = hashlib.sha256(data).hexdigest()
        try:
            self._client_or_new().put_object(
                Bucket=self.bucket,
                Key=object_key,
                Body=data,
                ContentType=media_type,
                Metadata={"sha256": digest},
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._failure("upload to", exc) from None
        return f"s3://{self.bucket}/{object_key}"

    def _get(self, url: str, sha256: str | None) -> bytes:
        parsed = urlparse(url)
        if not self.owns(url):
            raise MediaNotFound(f"{url} is not in this media store ({self.description})")
        object_key = unquote(parsed.path.lstrip("/"))
        try:
            response = self._client_or_new().get_object(Bucket=self.bucket, Key=object_key)
            data = response["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING_KEY:
                raise MediaNotFound(f"no media at {url}") from None
            raise self._failure("read from", exc) from None
        except BotoCoreError as exc:
            raise self._failure("read from", exc) from None
        return verify(data, sha256, url)

    def _list(self, prefix: str) -> list[str]:
        if ".." in prefix.split("/") or prefix.startswith("/"):
            raise ValueError(f"media prefix {prefix!r} must be a relative path")
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        keys: list[str] = []
        try:
            paginator = self._client_or_new().get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                keys.extend(item["Key"] for item in page.get("Contents", ()))
        except (BotoCoreError, ClientError) as exc:
            raise self._failure("list", exc) from None
        strip = len(self.prefix) + 1 if self.prefix else 0
        return sorted(key[strip:] for key in keys)

    def _failure(self, verb: str, exc: Exception) -> MediaStoreError:
        where = self.endpoint_url or "AWS"
        if isinstance(exc, NoCredentialsError):
            return MediaStoreError(
                f"cannot {verb} S3 bucket {self.bucket!r}: no AWS credentials are configured"
            )
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in _MISSING_BUCKET:
                return MediaStoreError(
                    f"S3 bucket {self.bucket!r} does not exist at {where}; create it or set "
                    "DRAMATIS_S3_BUCKET to one that does"
                )
            message = exc.response.get("Error", {}).get("Message") or code
            return MediaStoreError(f"cannot {verb} S3 bucket {self.bucket!r} at {where}: {message}")
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return MediaStoreError(f"cannot reach S3 at {where} to {verb} {self.bucket!r}: {detail}")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

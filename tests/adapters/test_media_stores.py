"""One contract for every media store: the filesystem store and the S3 store (on moto's server)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from dramatis.adapters.media_files import FileMediaStore
from dramatis.adapters.s3_media import S3MediaStore
from dramatis.ports import MediaIntegrityError, MediaNotFound, MediaStore, MediaStoreError
from moto_support import MotoS3

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class MediaStoreContract:
    """Every MediaStore passes these unchanged; subclasses provide ``store`` and ``corrupt``."""

    @pytest.fixture
    def store(self) -> MediaStore:
        raise NotImplementedError

    def corrupt(self, store: Any, url: str, data: bytes) -> None:
        raise NotImplementedError

    async def test_is_a_media_store(self, store: MediaStore) -> None:
        assert isinstance(store, MediaStore)
        assert store.description

    async def test_put_then_get_returns_the_same_bytes(self, store: MediaStore) -> None:
        url = await store.put("chronicles/c1/media/map.png", PNG, "image/png")
        assert store.owns(url)
        assert await store.get(url) == PNG
        assert await store.get(url, sha256=hashlib.sha256(PNG).hexdigest()) == PNG

    async def test_a_wrong_checksum_is_refused(self, store: MediaStore) -> None:
        url = await store.put("a/b.png", PNG, "image/png")
        with pytest.raises(MediaIntegrityError, match="sha256"):
            await store.get(url, sha256="0" * 64)

    async def test_damaged_content_fails_verification(self, store: MediaStore) -> None:
        url = await store.put("a/c.png", PNG, "image/png")
        self.corrupt(store, url, PNG + b"tampered")
        with pytest.raises(MediaIntegrityError):
            await store.get(url, sha256=hashlib.sha256(PNG).hexdigest())

    async def test_put_replaces_an_object(self, store: MediaStore) -> None:
        await store.put("a/d.txt", b"one", "text/plain")
        url = await store.put("a/d.txt", b"two", "text/plain")
        assert await store.get(url) == b"two"

    async def test_list_by_prefix_sorted(self, store: MediaStore) -> None:
        for key in ("x/2.png", "x/1.png", "y/1.png", "x/sub/3.png"):
            await store.put(key, PNG, "image/png")
        assert await store.list("x/") == ["x/1.png", "x/2.png", "x/sub/3.png"]
        assert "y/1.png" in await store.list()

    async def test_missing_object_is_not_found(self, store: MediaStore) -> None:
        url = await store.put("a/e.png", PNG, "image/png")
        missing = url.replace("a/e.png", "a/nope.png")
        with pytest.raises(MediaNotFound):
            await store.get(missing)
        assert not store.owns("https://example.org/a.png")
        with pytest.raises(MediaNotFound):
            await store.get("https://example.org/a.png")

    @pytest.mark.parametrize("key", ["", "/abs.png", "../up.png", "a//b.png", "a/./b.png"])
    async def test_unsafe_keys_are_refused(self, store: MediaStore, key: str) -> None:
        with pytest.raises(ValueError, match="relative path"):
            await store.put(key, PNG, "image/png")


class TestFileMediaStore(MediaStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> MediaStore:
        return FileMediaStore(tmp_path / "media")

    def corrupt(self, store: Any, url: str, data: bytes) -> None:
        Path(urlparse(url).path).write_bytes(data)

    async def test_urls_are_file_uris_under_the_root(self, tmp_path: Path) -> None:
        store = FileMediaStore(tmp_path / "media")
        url = await store.put("k/v.png", PNG, "image/png")
        assert url == (tmp_path / "media" / "k" / "v.png").resolve().as_uri()
        outside = (tmp_path / "elsewhere.png").as_uri()
        assert not store.owns(outside)

    async def test_an_unwritable_root_fails_cleanly(self, tmp_path: Path) -> None:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder", encoding="utf-8")
        store = FileMediaStore(blocker / "media")
        with pytest.raises(MediaStoreError, match="cannot write"):
            await store.put("a.png", PNG, "image/png")
        assert await store.list() == []


class TestS3MediaStore(MediaStoreContract):
    @pytest.fixture
    def store(self, moto_s3: MotoS3) -> MediaStore:
        bucket = f"media-{uuid.uuid4().hex[:12]}"
        moto_s3.create_bucket(bucket)
        return S3MediaStore(bucket, endpoint_url=moto_s3.endpoint_url)

    def corrupt(self, store: Any, url: str, data: bytes) -> None:
        parsed = urlparse(url)
        store._client_or_new().put_object(
            Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=data
        )

    async def test_objects_carry_type_and_checksum_and_signature_v4(
        self, store: Any, moto_s3: MotoS3
    ) -> None:
        url = await store.put("m/map.png", PNG, "image/png")
        assert url == f"s3://{store.bucket}/m/map.png"
        head = moto_s3.client().head_object(Bucket=store.bucket, Key="m/map.png")
        assert head["ContentType"] == "image/png"
        assert head["Metadata"]["sha256"] == hashlib.sha256(PNG).hexdigest()
        assert store._client_or_new().meta.config.signature_version == "s3v4"

    async def test_boto3_runs_off_the_event_loop_thread(self, store: Any) -> None:
        threads: list[threading.Thread] = []
        client = store._client_or_new()
        client.meta.events.register(
            "before-call.s3.PutObject", lambda **_: threads.append(threading.current_thread())
        )
        await store.put("t/x.png", PNG, "image/png")
        assert threads and all(t is not threading.main_thread() for t in threads)

    async def test_a_missing_bucket_fails_in_one_clear_line(self, moto_s3: MotoS3) -> None:
        store = S3MediaStore("no-such-bucket-here", endpoint_url=moto_s3.endpoint_url)
        with pytest.raises(MediaStoreError) as caught:
            await store.put("a.png", PNG, "image/png")
        message = str(caught.value)
        assert "no-such-bucket-here" in message and "does not exist" in message
        assert "\n" not in message

    async def test_a_stopped_server_fails_then_works_when_it_is_back(self, moto_s3: MotoS3) -> None:
        bucket = f"media-{uuid.uuid4().hex[:12]}"
        moto_s3.create_bucket(bucket)
        store = S3MediaStore(bucket, endpoint_url=moto_s3.endpoint_url, max_attempts=1)
        moto_s3.stop()
        with pytest.raises(MediaStoreError) as caught:
            await store.put("late/a.png", PNG, "image/png")
        assert "cannot reach S3" in str(caught.value)
        assert "\n" not in str(caught.value)
        with pytest.raises(MediaStoreError):
            await store.list()

        moto_s3.start()
        if bucket not in {b["Name"] for b in moto_s3.client().list_buckets()["Buckets"]}:
            moto_s3.create_bucket(bucket)
        assert "late/a.png" not in await store.list()  # nothing half-uploaded
        url = await store.put("late/a.png", PNG, "image/png")
        assert await store.get(url, sha256=hashlib.sha256(PNG).hexdigest()) == PNG

"""The filesystem media store: objects as files under one folder (by default in the data dir)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from dramatis.ports import MediaIntegrityError, MediaNotFound, MediaStoreError


def check_key(key: str) -> PurePosixPath:
    """``key`` as a relative path with no empty, dot or dot-dot parts (ValueError otherwise)."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"media key {key!r} must be a relative path like 'a/b/c.png'")
    return path


def verify(data: bytes, sha256: str | None, where: str) -> bytes:
    """``data`` if its sha256 is ``sha256`` (or none is expected); MediaIntegrityError otherwise."""
    if sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise MediaIntegrityError(
                f"{where} has sha256 {actual[:12]}…, not the {sha256[:12]}… it was stored with; "
                "the copy is damaged or was replaced"
            )
    return data


class FileMediaStore:
    """Writes each object atomically (temp file + rename) under ``root``; URLs are file:// URIs."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.description = f"files under {self.root}"

    async def put(self, key: str, data: bytes, media_type: str) -> str:
        return await asyncio.to_thread(self._put, key, data)

    async def get(self, url: str, sha256: str | None = None) -> bytes:
        return await asyncio.to_thread(self._get, url, sha256)

    async def list(self, prefix: str = "") -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    def owns(self, url: str) -> bool:
        try:
            self._path_of(url)
        except MediaNotFound:
            return False
        return True

    # ------------------------------------------------------------ blocking parts

    def _put(self, key: str, data: bytes) -> str:
        target = self.root / check_key(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        except OSError as exc:
            raise MediaStoreError(
                f"cannot write media under {self.root}: {exc.strerror or exc}"
            ) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise MediaStoreError(f"cannot write {target}: {exc.strerror or exc}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target.as_uri()

    def _get(self, url: str, sha256: str | None) -> bytes:
        path = self._path_of(url)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MediaNotFound(f"no media at {url}") from None
        except OSError as exc:
            raise MediaStoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        return verify(data, sha256, url)

    def _list(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def _path_of(self, url: str) -> Path:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            raise MediaNotFound(f"{url} is not in this media store ({self.description})")
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.root):
            raise MediaNotFound(f"{url} is not in this media store ({self.description})")
        return path

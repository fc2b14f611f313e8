"""Filesystem adapters: chronicles written under the data directory."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path


class FileChronicleWriter:
    """Writes chronicles as files in one directory, atomically (temp file + rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def write(self, name: str, text: str) -> str:
        return await asyncio.to_thread(self._write, name, text)

    def _write(self, name: str, text: str) -> str:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"chronicle file name {name!r} must be a plain file name")
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(target)

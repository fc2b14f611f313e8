"""Adapters: implementations of the ports.

The event stores are importable from here; they load lazily, so importing another adapter does
not pull in aiosqlite.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dramatis.adapters.memory_store import InMemoryEventStore, MemoryBackend
    from dramatis.adapters.sqlite_store import SQLiteEventStore

__all__ = ["InMemoryEventStore", "MemoryBackend", "SQLiteEventStore"]

_EXPORTS = {
    "InMemoryEventStore": "dramatis.adapters.memory_store",
    "MemoryBackend": "dramatis.adapters.memory_store",
    "SQLiteEventStore": "dramatis.adapters.sqlite_store",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)

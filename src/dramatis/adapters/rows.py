"""JSON and row helpers shared by the event-store adapters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dramatis.ports import RecordedEvent

encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
decode_json = json.JSONDecoder().decode


def record_from_row(row: Sequence[Any]) -> RecordedEvent:
    """A stored row (position, tenant, stream, type, version, event type, schema version,
    payload JSON, metadata JSON, recorded at) as a RecordedEvent."""
    return RecordedEvent(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        decode_json(row[7]),
        decode_json(row[8]),
        row[9],
    )

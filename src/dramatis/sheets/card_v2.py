"""Character Card V2 (``spec = "chara_card_v2"``, ``spec_version = "2.0"``), as JSON or in a PNG.

Mapping onto the canonical sheet:

- ``data.name`` -> name; ``data.description`` -> profile, and its first sentence -> summary;
- ``data.personality`` -> personality traits (split on commas, semicolons, full stops, lines);
- ``data.scenario`` -> scenario;
- speech: the first ``{{char}}:`` line of ``mes_example``, else the first line of ``first_mes``;
- ``data.extensions`` is kept verbatim in ``CharacterSheet.extensions``, except the keys of
  ``extensions.dramatis`` that dramatis reads itself: ``decision_weights``, ``goals``, ``fears``,
  ``stats``, ``summary``, ``speech`` and ``fallback_policy``;
- without ``extensions.dramatis.decision_weights`` the weights are inferred from the personality,
  description and tags (``weights_inferred = True``, with a warning that says so).

The other card fields (``first_mes``, ``alternate_greetings``, ``character_book``, ``tags``, ...)
are returned in ``LoadedSheet.extras["card"]``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dramatis.sheets.common import (
    LoadedSheet,
    build_sheet,
    clean_lines,
    describe_type,
    infer_weights,
    inferred_warning,
    one_line,
    parse_stats,
    parse_weights,
    sheet_error,
    split_traits,
)

SPEC = "chara_card_v2"
SPEC_VERSION = "2.0"

TEXT_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "creator",
    "character_version",
)
# Keys of extensions.dramatis that become sheet fields (the rest of the extensions stay verbatim).
DRAMATIS_KEYS = (
    "decision_weights",
    "goals",
    "fears",
    "stats",
    "summary",
    "speech",
    "fallback_policy",
)
_MAX_SUMMARY = 240
_MAX_SPEECH = 300


def parse_card_v2(text: str, *, label: str, source: Path) -> LoadedSheet:
    """Turn the JSON text of a Character Card V2 into a loaded canonical sheet."""
    try:
        card = json.loads(text)
    except json.JSONDecodeError as exc:
        raise sheet_error(label, f"line {exc.lineno}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise sheet_error(label, "invalid JSON (nested too deeply for a card)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python will convert
        raise sheet_error(label, f"invalid JSON ({exc})") from None
    return card_from_mapping(card, label=label, source=source)


def parse_card_png(data: bytes, *, label: str, source: Path) -> LoadedSheet:
    """Read the card embedded in a PNG's ``chara`` text chunk (base64 JSON)."""
    payload = png_text_chunks(data, label=label).get("chara")
    if payload is None:
        raise sheet_error(label, 'no character card in this PNG (no "chara" text chunk)')
    try:
        text = base64.b64decode(payload, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise sheet_error(label, 'the PNG\'s "chara" chunk is not base64-encoded JSON') from None
    return parse_card_v2(text, label=label, source=source)


def png_text_chunks(data: bytes, *, label: str) -> dict[str, str]:
    """The tEXt, zTXt and iTXt chunks of a PNG as keyword -> text."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise sheet_error(label, "not a PNG image")
    chunks: dict[str, str] = {}
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        try:
            if kind == b"tEXt":
                keyword, _, text = body.partition(b"\0")
                chunks[keyword.decode("latin-1")] = text.decode("latin-1")
            elif kind == b"zTXt":
                keyword, _, rest = body.partition(b"\0")
                chunks[keyword.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                keyword, _, rest = body.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _language, _, rest = rest.partition(b"\0")
                _translated, _, text = rest.partition(b"\0")
                raw = zlib.decompress(text) if compressed else text
                chunks[keyword.decode("latin-1")] = raw.decode("utf-8")
        except (zlib.error, UnicodeDecodeError, IndexError):
            raise sheet_error(label, f"damaged {kind.decode('latin-1')} chunk in the PNG") from None
        if kind == b"IEND":
            break
    return chunks


def card_from_mapping(card: object, *, label: str, source: Path) -> LoadedSheet:
    """Validate a decoded Card V2 object and map it onto the canonical sheet."""
    if not isinstance(card, Mapping):
        raise sheet_error(
            label, f"not a Character Card V2 (the file holds {describe_type(card)}, not an object)"
        )
    spec = card.get("spec")
    if spec != SPEC:
        found = f'"{spec}"' if isinstance(spec, str) else "missing"
        raise sheet_error(label, f'not a Character Card V2 (spec is {found}, expected "{SPEC}")')
    version = card.get("spec_version")
    if not isinstance(version, str) or version.split(".")[0] != "2":
        found = f'"{version}"' if isinstance(version, str) else "missing"
        raise sheet_error(
            label, f'not a Character Card V2 (spec_version is {found}, expected "{SPEC_VERSION}")'
        )
    data = card.get("data")
    if not isinstance(data, Mapping):
        problem = "missing" if data is None else f"{describe_type(data)}, not an object"
        raise sheet_error(label, f"data: {problem}; a Character Card V2 keeps its fields in data")

    for key in TEXT_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise sheet_error(label, f"data.{key}: expected text, found {describe_type(value)}")
    name = (data.get("name") or "").strip()
    if not name:
        raise sheet_error(label, "data.name: missing or empty; every card needs a name")
    for key in ("tags", "alternate_greetings"):
        value = data.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            raise sheet_error(label, f"data.{key}: expected a list of text")
    extensions = data.get("extensions")
    if extensions is None:
        extensions = {}
    if not isinstance(extensions, Mapping):
        raise sheet_error(
            label, f"data.extensions: expected an object, found {describe_type(extensions)}"
        )
    own = extensions.get("dramatis", {})
    if not isinstance(own, Mapping):
        raise sheet_error(
            label, f"data.extensions.dramatis: expected an object, found {describe_type(own)}"
        )

    def text(key: str) -> str:
        return _macros(str(data.get(key) or ""), name).strip()

    description = text("description")
    fields: dict[str, Any] = {
        "name": name,
        "source_format": "card_v2",
        "profile": description,
        "summary": _own_text(own, "summary", label) or _first_sentence(description),
        "personality": split_traits(text("personality")),
        "scenario": text("scenario"),
        "speech": _own_text(own, "speech", label)
        or _speech_line(text("mes_example"), text("first_mes"), name),
        "goals": _own_list(own, "goals", label),
        "fears": _own_list(own, "fears", label),
        "stats": parse_stats(_own_table(own, "stats", label), label=label),
    }
    if policy := _own_text(own, "fallback_policy", label):
        fields["fallback_policy"] = policy

    warnings: list[str] = []
    weights = parse_weights(_own_table(own, "decision_weights", label), label=label)
    if not weights:
        tags = data.get("tags") or []
        weights = infer_weights([text("personality"), description, *tags])
        fields["weights_inferred"] = True
        warnings.append(
            inferred_warning(label, weights, "the card's personality, description and tags")
        )
    fields["decision_weights"] = weights

    kept = dict(extensions)
    leftover = {key: value for key, value in own.items() if key not in DRAMATIS_KEYS}
    if "dramatis" in kept:
        if leftover:
            kept["dramatis"] = leftover
        else:
            del kept["dramatis"]
    fields["extensions"] = kept

    extras = {
        "card": {
            key: value
            for key, value in data.items()
            if key not in ("name", "description", "personality", "scenario", "extensions")
        }
    }
    return LoadedSheet(
        sheet=build_sheet(label, fields), source=source, warnings=warnings, extras=extras
    )


def _own_text(own: Mapping[str, Any], key: str, label: str) -> str:
    value = own.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise sheet_error(
            label, f"data.extensions.dramatis.{key}: expected text, found {describe_type(value)}"
        )
    return one_line(value)


def _own_list(own: Mapping[str, Any], key: str, label: str) -> tuple[str, ...]:
    value = own.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return clean_lines(re.split(r"[;\n]", value))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise sheet_error(label, f"data.extensions.dramatis.{key}: expected a list of text")
    return clean_lines(value)


def _own_table(own: Mapping[str, Any], key: str, label: str) -> Mapping[str, Any]:
    value = own.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise sheet_error(
            label,
            f"data.extensions.dramatis.{key}: expected an object, found {describe_type(value)}",
        )
    return value


def _macros(text: str, name: str) -> str:
    """Card placeholders filled in: ``{{char}}`` is the character, ``{{user}}`` is "you"."""
    text = re.sub(r"\{\{\s*char\s*\}\}|<BOT>", name, text, flags=re.I)
    return re.sub(r"\{\{\s*user\s*\}\}|<USER>", "you", text, flags=re.I)


def _first_sentence(text: str) -> str:
    if not text:
        return ""
    first = re.split(r"(?<=[.!?])\s+", one_line(text), maxsplit=1)[0]
    if len(first) <= _MAX_SUMMARY:
        return first
    return first[: _MAX_SUMMARY - 1].rsplit(" ", 1)[0] + "…"


def _speech_line(mes_example: str, first_mes: str, name: str) -> str:
    prefix = re.compile(rf"^\s*{re.escape(name)}\s*:\s*", re.I)
    for line in mes_example.splitlines():
        if prefix.match(line):
            return _clean_speech(prefix.sub("", line))
    for line in first_mes.splitlines():
        if cleaned := _clean_speech(line):
            return cleaned
    return ""


def _clean_speech(line: str) -> str:
    """A line of dialogue without its *stage directions*, trimmed to a sensible length."""
    text = one_line(re.sub(r"\*[^*]*\*", " ", line))
    if len(text) <= _MAX_SPEECH:
        return text
    return text[: _MAX_SPEECH - 1].rsplit(" ", 1)[0] + "…"

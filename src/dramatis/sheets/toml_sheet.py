"""The native TOML sheet: top-level keys named like the fields of ``CharacterSheet``.

```toml
name = "Ana Varga"
summary = "Wagon-mistress of the salt road."
personality = ["cautious", "dry-witted"]
goals = ["get the salt to Cindermere"]

[decision_weights]
self_preservation = "8/10"   # or 8, or 0.8
loyalty = 0.6

[stats]
wits = 4
```

Weights follow the rule in :mod:`dramatis.sheets.common`: fractions on their own scale, whole
numbers on 0..10, decimals on 0..1. ``personality`` may also be one comma-separated string, and
``goals``/``fears`` one string (split on semicolons and new lines).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dramatis.sheets.common import (
    LoadedSheet,
    build_sheet,
    clean_lines,
    clean_traits,
    describe_type,
    did_you_mean,
    infer_weights,
    inferred_warning,
    parse_stats,
    parse_weights,
    sheet_error,
    split_traits,
)

TEXT_FIELDS = ("name", "summary", "profile", "speech", "scenario", "fallback_policy")
LIST_FIELDS = ("personality", "goals", "fears")
TABLE_FIELDS = ("decision_weights", "stats", "extensions")
ALLOWED_KEYS = TEXT_FIELDS + LIST_FIELDS + TABLE_FIELDS

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def toml_error_message(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """``line 4: invalid TOML (Invalid value)`` from a decode error."""
    message = str(exc)
    if match := _TOML_POSITION.search(message):
        return f"line {match.group(1)}: invalid TOML ({message[: match.start()]})"
    if match := _TOML_END.search(message):
        last_line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        return f"line {last_line}: invalid TOML ({message[: match.start()]} at end of file)"
    return f"invalid TOML ({message})"


def parse_toml_sheet(text: str, *, label: str, source: Path) -> LoadedSheet:
    """Turn the text of a native TOML sheet into a loaded canonical sheet."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise sheet_error(label, toml_error_message(exc, text)) from None
    except RecursionError:
        raise sheet_error(label, "not valid TOML (nested too deeply to be a sheet)") from None
    return sheet_from_mapping(data, label=label, source=source)


def sheet_from_mapping(data: Mapping[str, Any], *, label: str, source: Path) -> LoadedSheet:
    """Validate a TOML table shaped like ``CharacterSheet`` and build the sheet."""
    for key in data:
        if key not in ALLOWED_KEYS:
            raise sheet_error(
                label,
                f'unknown key "{key}"{did_you_mean(key, ALLOWED_KEYS)}; '
                f"a sheet has {', '.join(ALLOWED_KEYS)}",
            )
    if "name" not in data:
        raise sheet_error(label, 'name: missing; every sheet needs name = "..."')

    fields: dict[str, Any] = {"source_format": "toml"}
    for key in TEXT_FIELDS:
        if key in data:
            value = data[key]
            if not isinstance(value, str):
                raise sheet_error(label, f"{key}: expected text, found {describe_type(value)}")
            fields[key] = value.strip()
    if not fields["name"]:
        raise sheet_error(label, 'name: empty; every sheet needs name = "..."')

    for key in LIST_FIELDS:
        if key in data:
            fields[key] = _list_field(data[key], key=key, label=label)

    for key in TABLE_FIELDS:
        if key in data and not isinstance(data[key], Mapping):
            raise sheet_error(label, f"{key}: expected a table, found {describe_type(data[key])}")

    warnings: list[str] = []
    weights = parse_weights(data.get("decision_weights", {}), label=label)
    if not weights:
        weights = infer_weights(
            [*fields.get("personality", ()), fields.get("summary", ""), fields.get("profile", "")]
        )
        fields["weights_inferred"] = True
        warnings.append(inferred_warning(label, weights, "personality, summary and profile"))
    fields["decision_weights"] = weights
    fields["stats"] = parse_stats(data.get("stats", {}), label=label)
    if "extensions" in data:
        fields["extensions"] = dict(data["extensions"])
    return LoadedSheet(sheet=build_sheet(label, fields), source=source, warnings=warnings)


def _list_field(value: object, *, key: str, label: str) -> tuple[str, ...]:
    if isinstance(value, str):
        if key == "personality":
            return split_traits(value)
        return clean_lines(re.split(r"[;\n]", value))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise sheet_error(
            label, f"{key}: expected a list of text, found {_list_description(value)}"
        )
    return clean_traits(value) if key == "personality" else clean_lines(value)


def _list_description(value: object) -> str:
    if isinstance(value, list):
        odd = next(item for item in value if not isinstance(item, str))
        return f"a list holding {describe_type(odd)}"
    return describe_type(value)

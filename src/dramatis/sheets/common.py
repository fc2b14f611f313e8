"""Shared pieces of the sheet importers: the load result, weight and stat rules, weight inference.

Weight rule (the same in every format):

- a fraction ``"7/10"`` is read on its own scale (``"3/5"`` is 0.6); the top must not exceed the
  bottom;
- a whole number (``7``, no decimal point) is on the 0..10 scale: ``7`` is 0.7, ``1`` is 0.1;
- a decimal (``0.7``, with a decimal point) is already on the 0..1 scale;
- a percentage ``"70%"`` is on the 0..100 scale.

Stats are whole numbers from 1 to 5.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dramatis.domain.errors import CharacterSheetError
from dramatis.domain.sheet import CORE_WEIGHTS, CharacterSheet

STAT_MIN = 1
STAT_MAX = 5

WEIGHT_HINT = "write 7/10, a whole number from 0 to 10 or a decimal from 0 to 1"


@dataclass(frozen=True, slots=True)
class LoadedSheet:
    """A sheet read from a file: the canonical sheet, what the reader should know, and leftovers.

    ``extras`` holds source material with no place in the canonical sheet (Card V2 fields such as
    ``tags`` or ``alternate_greetings``, unmapped markdown sections); it is not part of the hash.
    """

    sheet: CharacterSheet
    source: Path
    warnings: list[str] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def sheet_error(label: str, message: str) -> CharacterSheetError:
    """A ``CharacterSheetError`` whose single-line message starts with the file's label."""
    return CharacterSheetError(one_line(f"{label}: {message}"))


def one_line(text: str) -> str:
    """Collapse whitespace (including newlines) so a message fits on one line."""
    return " ".join(text.split())


def describe_type(value: object) -> str:
    """A plain-words name for a value's type, for error messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` when ``word`` is close to one of ``choices``, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def snake_case(name: str) -> str:
    """Lower snake_case: ``"Self-Preservation"`` -> ``"self_preservation"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


# Names sheets use for the core weights, mapped onto the keys the offline policy understands.
_WEIGHT_ALIASES = {
    "self_preservation": "self_preservation",
    "selfpreservation": "self_preservation",
    "survival": "self_preservation",
    "caution": "self_preservation",
    "loyalty": "loyalty",
    "faction_loyalty": "loyalty",
    "group_loyalty": "loyalty",
    "duty": "loyalty",
    "relationships": "relationships",
    "relationship": "relationships",
    "personal_relationships": "relationships",
    "friendship": "relationships",
    "mission": "mission",
    "mission_success": "mission",
    "mission_focus": "mission",
    "ambition": "mission",
    "goals": "mission",
    "morality": "morality",
    "morals": "morality",
    "moral_code": "morality",
    "ethics": "morality",
    "honour": "morality",
    "honor": "morality",
    "conscience": "morality",
}


def weight_key(name: str) -> str:
    """The canonical key of a decision weight name (aliases fold onto the core weights)."""
    key = snake_case(name)
    return _WEIGHT_ALIASES.get(key, key)


_FRACTION = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)$")
_PERCENT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*%$")
_WHOLE = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+)$")
_LEADING_VALUE = re.compile(r"^\s*([+-]?[\d.]+\s*(?:/\s*[\d.]+|%)?)")


def leading_weight_text(text: str) -> str:
    """The weight at the start of a markdown value: ``"7/10 - rarely"`` -> ``"7/10"``."""
    match = _LEADING_VALUE.match(text)
    return match.group(1).strip() if match else text.strip()


def _fmt(number: float) -> str:
    return f"{number:g}"


def parse_weight(raw: object, *, label: str, name: str) -> float:
    """One decision weight from a sheet, on the 0..1 scale (see the module docstring for the rule).

    ``name`` is the weight's name as written in the sheet; it appears in the error message.
    """
    if isinstance(raw, bool):
        raise sheet_error(label, f'decision weight "{name}" is {str(raw).lower()}; {WEIGHT_HINT}')
    if isinstance(raw, int):
        return _whole(raw, label=label, name=name, shown=str(raw))
    if isinstance(raw, float):
        return _decimal(raw, label=label, name=name, shown=_fmt(raw))
    if not isinstance(raw, str):
        raise sheet_error(label, f'decision weight "{name}" is {describe_type(raw)}; {WEIGHT_HINT}')
    text = raw.strip()
    if match := _FRACTION.match(text):
        top, bottom = float(match.group(1)), float(match.group(2))
        if bottom <= 0:
            raise sheet_error(
                label,
                f'decision weight "{name}" is {text}; the bottom of a fraction must be above 0',
            )
        if not 0 <= top <= bottom:
            raise sheet_error(
                label,
                f'decision weight "{name}" is {_fmt(top)}/{_fmt(bottom)}; '
                f"weights run from 0 to {_fmt(bottom)}",
            )
        return round(top / bottom, 4)
    if match := _PERCENT.match(text):
        value = float(match.group(1))
        if not 0 <= value <= 100:
            raise sheet_error(
                label, f'decision weight "{name}" is {text}; percentages run from 0% to 100%'
            )
        return round(value / 100, 4)
    if _WHOLE.match(text):
        return _whole(int(text), label=label, name=name, shown=text)
    if _DECIMAL.match(text):
        return _decimal(float(text), label=label, name=name, shown=text)
    raise sheet_error(label, f'decision weight "{name}" is "{text}"; {WEIGHT_HINT}')


def _whole(value: int, *, label: str, name: str, shown: str) -> float:
    if not 0 <= value <= 10:
        raise sheet_error(
            label,
            f'decision weight "{name}" is {shown}; whole-number weights run from 0 to 10 '
            "(use a decimal such as 0.7 for the 0 to 1 scale)",
        )
    return round(value / 10, 4)


def _decimal(value: float, *, label: str, name: str, shown: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise sheet_error(
            label,
            f'decision weight "{name}" is {shown}; decimal weights run from 0 to 1 '
            "(write 7/10 or a whole number for the 0 to 10 scale)",
        )
    return round(value, 4)


def parse_weights(raw: Mapping[str, object], *, label: str) -> dict[str, float]:
    """A table of decision weights: names normalised to snake_case keys, values to 0..1."""
    weights: dict[str, float] = {}
    written: dict[str, str] = {}
    for name, value in raw.items():
        key = weight_key(str(name))
        if not key:
            raise sheet_error(label, f'decision weight "{name}" has no usable name')
        if key in weights:
            raise sheet_error(
                label,
                f'decision weight "{name}" repeats "{written[key]}" (both mean "{key}"); '
                "keep one of them",
            )
        weights[key] = parse_weight(value, label=label, name=str(name))
        written[key] = str(name)
    return weights


def parse_stat(raw: object, *, label: str, name: str) -> int:
    """One stat: a whole number from 1 to 5."""
    if isinstance(raw, str) and _WHOLE.match(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int):
        shown = _show(raw)
        raise sheet_error(
            label,
            f'stat "{name}" is {shown}; stats are whole numbers from {STAT_MIN} to {STAT_MAX}',
        )
    if not STAT_MIN <= raw <= STAT_MAX:
        raise sheet_error(label, f'stat "{name}" is {raw}; stats run from {STAT_MIN} to {STAT_MAX}')
    return raw


def _show(value: object) -> str:
    """A value as a message shows it: numbers bare, text in quotes, anything else by kind."""
    if isinstance(value, float):
        return _fmt(value)
    if isinstance(value, str):
        return f'"{value}"'
    return describe_type(value)


def parse_stats(raw: Mapping[str, object], *, label: str) -> dict[str, int]:
    """A table of stats: names to snake_case, values whole numbers 1..5."""
    stats: dict[str, int] = {}
    for name, value in raw.items():
        key = snake_case(str(name))
        if not key:
            raise sheet_error(label, f'stat "{name}" has no usable name')
        if key in stats:
            raise sheet_error(label, f'stat "{name}" appears twice; keep one of them')
        stats[key] = parse_stat(value, label=label, name=str(name))
    return stats


def split_traits(text: str) -> tuple[str, ...]:
    """``"Cautious, dry-witted; loyal"`` -> ``("cautious", "dry-witted", "loyal")``."""
    parts = re.split(r"[,;\n]|\.(?:\s|$)", text)
    return clean_traits(parts)


def clean_traits(items: Iterable[str]) -> tuple[str, ...]:
    """Traits in canonical form: trimmed, lower case, no trailing full stop, no duplicates."""
    seen: list[str] = []
    for item in items:
        trait = one_line(item).strip(" .-*").lower()
        if trait.startswith("and "):
            trait = trait[4:]
        if trait and trait not in seen:
            seen.append(trait)
    return tuple(seen)


def clean_lines(items: Iterable[str]) -> tuple[str, ...]:
    """Goals or fears: trimmed, single-line, empty ones dropped, order kept."""
    return tuple(text for item in items if (text := one_line(item)))


# ---------------------------------------------------------------- inference

# Word stems that move a weight up (+) or down (-). Matched at word starts, case-insensitively.
_INFERENCE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "self_preservation": (
        (
            "caut",
            "careful",
            "wary",
            "timid",
            "cowar",
            "nervous",
            "paranoi",
            "prudent",
            "anxious",
            "fearful",
            "survivor",
            "self-serving",
            "skittish",
        ),
        (
            "reckless",
            "brave",
            "bold",
            "fearless",
            "daring",
            "impulsiv",
            "heroic",
            "rash",
            "courage",
            "headstrong",
            "self-sacrific",
            "thrill",
        ),
    ),
    "loyalty": (
        (
            "loyal",
            "devoted",
            "faithful",
            "dutiful",
            "steadfast",
            "protective",
            "trustworthy",
            "dependable",
            "reliable",
        ),
        (
            "treacher",
            "fickle",
            "disloyal",
            "selfish",
            "mercenar",
            "opportunis",
            "betray",
            "unreliable",
            "self-serving",
            "turncoat",
        ),
    ),
    "relationships": (
        (
            "warm",
            "kind",
            "caring",
            "friendly",
            "affectionate",
            "empath",
            "gentle",
            "compassion",
            "sociable",
            "charming",
            "gregarious",
            "tender",
        ),
        (
            "cold",
            "aloof",
            "distant",
            "loner",
            "solitary",
            "misanthrop",
            "withdrawn",
            "reclusive",
            "standoffish",
            "icy",
        ),
    ),
    "mission": (
        (
            "driven",
            "ambitio",
            "determined",
            "focused",
            "obsess",
            "stubborn",
            "relentless",
            "dedicated",
            "disciplined",
            "purpose",
            "single-minded",
        ),
        ("lazy", "aimless", "idle", "distract", "apathetic", "listless", "flighty"),
    ),
    "morality": (
        (
            "honest",
            "honour",
            "honor",
            "principled",
            "righteous",
            "noble",
            "kind",
            "decent",
            "truthful",
            "merciful",
        ),
        (
            "liar",
            "lies",
            "lying",
            "deceit",
            "deceptive",
            "cunning",
            "manipulat",
            "ruthless",
            "cruel",
            "greed",
            "thie",
            "scheming",
            "dishonest",
            "amoral",
            "unscrupulous",
            "swindl",
            "crook",
        ),
    ),
}
_NEGATORS = {"not", "never", "no", "hardly", "rarely", "barely"}
_STEP = 0.15


def infer_weights(texts: Iterable[str]) -> dict[str, float]:
    """Decision weights guessed from descriptive text (personality, description, tags).

    Every core weight starts at 0.5; each keyword hit moves it by 0.15 (a keyword after "not" or
    "never" counts the other way); results are clamped to 0.05..0.95 and rounded to 2 places.
    """
    words = re.findall(r"[a-z][a-z'-]*", " ".join(texts).lower())
    weights = {key: 0.5 for key in CORE_WEIGHTS}
    for index, word in enumerate(words):
        negated = index > 0 and words[index - 1] in _NEGATORS
        for key, (ups, downs) in _INFERENCE.items():
            direction = 0
            if any(word.startswith(stem) for stem in ups):
                direction += 1
            if any(word.startswith(stem) for stem in downs):
                direction -= 1
            if negated:
                direction = -direction
            weights[key] += direction * _STEP
    return {key: round(min(0.95, max(0.05, value)), 2) for key, value in weights.items()}


def inferred_warning(label: str, weights: Mapping[str, float], sources: str) -> str:
    """The warning that goes with inferred weights: says so and shows what was guessed."""
    shown = ", ".join(f"{key} {value:g}" for key, value in weights.items())
    return f"{label}: no decision weights given; inferred them from {sources} ({shown})"


# ---------------------------------------------------------------- building the sheet


def build_sheet(label: str, fields: Mapping[str, Any]) -> CharacterSheet:
    """Construct the canonical sheet, turning a validation failure into one readable line."""
    try:
        return CharacterSheet(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "sheet"
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        raise sheet_error(label, f"{where}: {message}") from None


def read_text(path: Path, *, label: str) -> str:
    """A sheet file's text, with a clear error when it is missing, a folder or not UTF-8."""
    if not path.exists():
        raise sheet_error(label, f"file not found (looked for {path.absolute()})")
    if path.is_dir():
        raise sheet_error(label, "is a folder, not a sheet file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise sheet_error(label, f"not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    except OSError as exc:
        raise sheet_error(label, f"cannot be read ({exc.strerror or exc})") from None

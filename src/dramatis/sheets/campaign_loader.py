"""Load a campaign file: validate it, resolve and load its sheets; find the shipped samples."""

from __future__ import annotations

import atexit
import functools
import inspect
import shutil
import tempfile
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dramatis.domain.campaign_file import BrainKind, CampaignFile, PersonaEntry
from dramatis.domain.errors import CampaignFileError
from dramatis.domain.sheet import CharacterSheet
from dramatis.sheets.common import LoadedSheet, did_you_mean, one_line
from dramatis.sheets.loader import load_sheet
from dramatis.sheets.toml_sheet import toml_error_message

SAMPLES_PACKAGE = "dramatis.sample_campaigns"
CAMPAIGN_FILE_NAME = "campaign.toml"


@dataclass(frozen=True, slots=True)
class LoadedPersona:
    """One participant of a loaded campaign: its entry in the file and its loaded sheet."""

    entry: PersonaEntry
    loaded: LoadedSheet

    @property
    def sheet(self) -> CharacterSheet:
        """The canonical sheet."""
        return self.loaded.sheet

    @property
    def brain(self) -> BrainKind:
        """offline, gemini or human."""
        return self.entry.brain

    @property
    def path(self) -> Path:
        """The sheet file, resolved."""
        return self.loaded.source


@dataclass(frozen=True, slots=True)
class LoadedCampaign:
    """A validated campaign file with its sheets loaded, in the file's order."""

    campaign: CampaignFile
    personas: tuple[LoadedPersona, ...]
    base_dir: Path
    source: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def sheets(self) -> list[CharacterSheet]:
        """The personas' canonical sheets, in order."""
        return [persona.sheet for persona in self.personas]


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """A sample campaign shipped with dramatis."""

    name: str  # the slug used on the command line: "salt-road"
    title: str  # the campaign's name: "The Salt Road"
    description: str
    persona_count: int
    path: Path  # the sample's campaign.toml


def campaign_label(path: Path) -> str:
    """How messages name a campaign file: ``salt.toml``, or ``salt-road/campaign.toml``."""
    if path.name == CAMPAIGN_FILE_NAME and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name


def campaign_error(label: str, message: str) -> CampaignFileError:
    """A ``CampaignFileError`` with a single-line message starting with the file's label."""
    return CampaignFileError(one_line(f"{label}: {message}"))


# ---------------------------------------------------------------- loading


def load_campaign_file(path: Path) -> LoadedCampaign:
    """Read, validate and load a campaign file and every sheet it names.

    Problems with the campaign file raise ``CampaignFileError``; problems inside a sheet raise
    ``CharacterSheetError`` naming the sheet as the campaign file wrote it. Both are one line.
    """
    path = Path(path).expanduser()
    label = campaign_label(path)
    if not path.exists():
        raise campaign_error(label, f"file not found (looked for {path.absolute()})")
    if path.is_dir():
        raise campaign_error(
            label,
            f"is a folder; a campaign is a TOML file such as {path.name}/{CAMPAIGN_FILE_NAME}",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise campaign_error(
            label, f"not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None
    except OSError as exc:
        raise campaign_error(label, f"cannot be read ({exc.strerror or exc})") from None
    campaign = parse_campaign_text(text, label=label)
    warnings = check_brief(campaign, label=label)

    base_dir = path.parent.resolve()
    personas: list[LoadedPersona] = []
    for number, entry in enumerate(campaign.personas, start=1):
        sheet_path = Path(entry.sheet).expanduser()
        if not sheet_path.is_absolute():
            sheet_path = base_dir / sheet_path
        if not sheet_path.is_file():
            problem = "is a folder, not a sheet file" if sheet_path.is_dir() else "does not exist"
            raise campaign_error(
                label, f"personas[#{number}].sheet: {entry.sheet} {problem} ({sheet_path})"
            )
        loaded = load_sheet(sheet_path, label=entry.sheet)
        warnings.extend(loaded.warnings)
        personas.append(LoadedPersona(entry=entry, loaded=loaded))

    seen: dict[str, int] = {}
    for number, persona in enumerate(personas, start=1):
        name = persona.sheet.name
        if name in seen:
            warnings.append(
                f"{label}: personas[#{seen[name]}] and personas[#{number}] are both called "
                f"{name!r}; the chronicle will not tell them apart"
            )
        seen.setdefault(name, number)
    return LoadedCampaign(
        campaign=campaign,
        personas=tuple(personas),
        base_dir=base_dir,
        source=path,
        warnings=warnings,
    )


def parse_campaign_text(text: str, *, label: str) -> CampaignFile:
    """Parse and validate campaign TOML (without loading sheets); errors are one line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise campaign_error(label, toml_error_message(exc, text)) from None
    except RecursionError:
        raise campaign_error(label, "not valid TOML (nested too deeply)") from None
    try:
        campaign = CampaignFile.model_validate(raw)
    except ValidationError as exc:
        raise campaign_error(label, describe_validation_error(exc, raw)) from None
    _check_references(campaign, label=label)
    return campaign


def describe_validation_error(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """The first problem of a pydantic error as ``field: problem`` (plus how many more)."""
    errors = exc.errors()
    # A bad item also makes its list look too short; report the item, not the echo.
    errors = [
        error
        for error in errors
        if not (
            error["type"] == "too_short"
            and any(_inside(other["loc"], error["loc"]) for other in errors)
        )
    ] or errors
    first = errors[0]
    loc = tuple(first["loc"])
    where = _render_loc(loc, raw)
    problem = _render_problem(first, loc)
    more = len(errors) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {problem}{tail}" if where else f"{problem}{tail}"


def _inside(loc: Sequence[str | int], parent: Sequence[str | int]) -> bool:
    return len(loc) > len(parent) and tuple(loc[: len(parent)]) == tuple(parent)


def _render_loc(loc: Sequence[str | int], raw: Any) -> str:
    """``world.events[storm].trigger`` or ``personas[#2].brain`` (items numbered from 1)."""
    text = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            key = None
            if isinstance(item, Mapping):
                key = item.get("id") or (item.get("name") if "sheet" not in item else None)
            text += f"[{key}]" if isinstance(key, str) and key else f"[#{part + 1}]"
            node = item
        else:
            text += f".{part}" if text else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return text


def _render_problem(error: Mapping[str, Any], loc: Sequence[str | int]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    found = error.get("input")
    if kind == "missing":
        if tuple(loc) == ("personas",):
            return "missing; a campaign needs at least 2 [[personas]] entries"
        if tuple(loc) == ("name",):
            return 'missing; every campaign needs name = "..."'
        return f"missing; add {loc[-1]} = ..."
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "id":
        return (
            "ids are lower-case letters, digits, '-' and '_', starting with a letter or digit"
            f" (found {found!r})"
        )
    if kind == "too_short" and tuple(loc) == ("personas",):
        return f"a campaign needs at least 2 personas, found {ctx.get('actual_length', 0)}"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        hint = did_you_mean(str(loc[-1]), known)
        listing = f"; known keys here: {', '.join(known)}" if known and not hint else ""
        return f"unknown key{hint}{listing}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Input ")
    message = message[:1].lower() + message[1:]
    if kind != "value_error" and isinstance(found, str | int | float | bool):
        message += f" (found {found!r})"
    return message


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that validates the table at ``loc`` of a campaign file."""
    model: type[BaseModel] = CampaignFile
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        inner = _inner_model(info.annotation) if info is not None else None
        if inner is None:
            return None
        model = inner
    return model


def _inner_model(annotation: object) -> type[BaseModel] | None:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            if (found := _inner_model(arg)) is not None:
                return found
    return None


def _check_references(campaign: CampaignFile, *, label: str) -> None:
    """Brief references the models cannot check alone: event places, witnesses, objectives."""
    world = campaign.world
    places = {location.id for location in world.locations}
    names = [objective.name for objective in world.objectives]
    for name in names:
        if names.count(name) > 1:
            raise campaign_error(label, f"world.objectives[{name}]: objective names must be unique")
    for event in world.events:
        where = f"world.events[{event.id}]"
        if event.location is not None and event.location not in places:
            raise campaign_error(
                label, f'{where}.location: "{event.location}" is not a location id{_known(places)}'
            )
        witnesses = event.witnesses
        if witnesses == "present" and event.location is None:
            raise campaign_error(
                label, f'{where}.witnesses: "present" needs location = "<location id>" as well'
            )
        if witnesses not in ("all", "present") and witnesses not in places:
            raise campaign_error(
                label,
                f'{where}.witnesses: "{witnesses}" is neither "all", "present" nor a location id'
                f"{_known(places)}",
            )


def _known(places: set[str]) -> str:
    return f" (locations: {', '.join(sorted(places))})" if places else " (no locations defined)"


def check_brief(campaign: CampaignFile, *, label: str) -> list[str]:
    """Warnings about brief events that can never fire."""
    world = campaign.world
    warnings: list[str] = []
    raised = {objective.name for objective in world.objectives}
    for event in world.events:
        raised.update(event.effect.counters)
    clue_total = len(set(world.clues).union(*(event.effect.add_clues for event in world.events)))
    for event in world.events:
        trigger = event.trigger
        where = f"{label}: world.events[{event.id}].trigger"
        if trigger.kind == "counter" and trigger.counter not in raised:
            warnings.append(
                f'{where}: counter "{trigger.counter}" is not an objective and no event adds to '
                "it, so this event may never fire"
            )
        if trigger.kind == "clues" and (trigger.at_least or 0) > clue_total:
            warnings.append(
                f"{where}: needs {trigger.at_least:g} clues but the brief hides only "
                f"{clue_total}, so this event can never fire"
            )
        if trigger.kind == "tension" and (trigger.at_least or 0) > 1:
            warnings.append(f"{where}: tension runs from 0 to 1, so at_least > 1 never fires")
    return warnings


# ---------------------------------------------------------------- samples


def list_samples() -> list[SampleInfo]:
    """The sample campaigns shipped with dramatis, sorted by name."""
    samples: list[SampleInfo] = []
    root = _samples_root()
    for folder in sorted(root.iterdir()):
        campaign_file = folder / CAMPAIGN_FILE_NAME
        if not campaign_file.is_file():
            continue
        raw = tomllib.loads(campaign_file.read_text(encoding="utf-8"))
        personas = raw.get("personas", [])
        samples.append(
            SampleInfo(
                name=folder.name,
                title=str(raw.get("name", folder.name)),
                description=str(raw.get("description", "")),
                persona_count=len(personas) if isinstance(personas, list) else 0,
                path=campaign_file,
            )
        )
    return samples


def find_sample(name: str) -> Path:
    """A shipped sample's campaign file, by slug (``salt-road``) or title (``The Salt Road``)."""
    wanted = _slug(name)
    samples = list_samples()
    for sample in samples:
        if wanted in (sample.name, _slug(sample.title)):
            return sample.path
    available = ", ".join(sample.name for sample in samples) or "none"
    hint = did_you_mean(wanted, [sample.name for sample in samples])
    raise CampaignFileError(
        one_line(f'unknown sample "{name}"{hint}; available samples: {available}')
    )


def resolve_campaign(reference: str | Path) -> Path:
    """A campaign file from a path, a folder holding ``campaign.toml``, or a sample's name."""
    path = Path(reference).expanduser()
    if path.is_file():
        return path
    if path.is_dir() and (path / CAMPAIGN_FILE_NAME).is_file():
        return path / CAMPAIGN_FILE_NAME
    text = str(reference)
    if path.suffix.lower() == ".toml" or "/" in text or "\\" in text:
        raise campaign_error(campaign_label(path), f"file not found (looked for {path.absolute()})")
    return find_sample(text)


def _slug(text: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()
    return "-".join(words)


@functools.cache
def _samples_root() -> Path:
    """The samples folder on disk (copied out once when the package is not a plain folder)."""
    root = resources.files(SAMPLES_PACKAGE)
    if isinstance(root, Path):
        return root
    target = Path(tempfile.mkdtemp(prefix="dramatis-samples-"))
    atexit.register(shutil.rmtree, target, True)
    _copy_tree(root, target)
    return target


def _copy_tree(source: Traversable, target: Path) -> None:
    for entry in source.iterdir():
        if entry.is_dir():
            (target / entry.name).mkdir(exist_ok=True)
            _copy_tree(entry, target / entry.name)
        elif not entry.name.endswith((".py", ".pyc")):
            (target / entry.name).write_bytes(entry.read_bytes())

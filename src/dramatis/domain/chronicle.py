"""The narrative context: the Chronicle aggregate, its events and the MediaAsset value object.

There is exactly one chronicle per campaign: its id is derived from the campaign id
(``chronicle_id_for``), and the aggregate rejects events of any other campaign. Chapters are drafted
in order, each citing the turns of the ledger it tells; media (maps, portraits) are attached with
their checksum and a text alternative; publishing is final.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dramatis.domain.errors import (
    IncompatibleSnapshot,
    InvalidCommand,
    InvariantViolation,
    StreamMismatch,
)
from dramatis.domain.events import DomainEvent, Timestamp, register_event, require_timestamp

CHRONICLE_NAMESPACE = uuid.UUID("6f1d2a8e-3c4b-5e7f-9a10-b2c3d4e5f607")
"""Fixed namespace of chronicle ids: never change it, or existing chronicles lose their streams."""

ChronicleStatus = Literal["draft", "published"]
PublishFormat = Literal["md", "html", "json"]

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")


def chronicle_id_for(campaign_id: str) -> str:
    """The id of a campaign's one chronicle: a uuid5 of the campaign id in a fixed namespace."""
    return str(uuid.uuid5(CHRONICLE_NAMESPACE, campaign_id))


# ---------------------------------------------------------------- errors


class ChronicleUnbound(InvalidCommand):
    """A command was sent to a chronicle not yet bound to a campaign."""


class ChapterOutOfOrder(InvariantViolation):
    """A chapter's number is not the next one."""


class ChapterCitationError(InvariantViolation):
    """A chapter cites no turn, or turns the campaign has not played."""


class InvalidChapter(InvalidCommand):
    """A chapter has an empty title, text or chronicler."""


class ChroniclePublishedError(InvariantViolation):
    """The chronicle is published: it is final and takes no more chapters or publications."""


class EmptyChronicle(InvariantViolation):
    """A chronicle with no chapters cannot be published."""


class InvalidMediaAsset(InvariantViolation):
    """A media asset lacks its text alternative, has a bad checksum, or points nowhere."""


# ---------------------------------------------------------------- value objects


class MediaAsset(BaseModel):
    """An image or other file illustrating the chronicle (stored elsewhere, found by URL).

    ``checksum`` is the sha256 of the content as 64 lowercase hex characters; ``chapter`` ties the
    asset to one chapter (None for the whole chronicle, e.g. a cover or map).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_id: str
    storage_url: str
    media_type: str
    checksum: str
    accessibility_text: str
    chapter: int | None = None


class Chapter(BaseModel):
    """One drafted chapter with its attribution and the turns it tells."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int = Field(ge=1)
    title: str
    markdown: str
    cited_turns: tuple[int, ...]
    chronicler: str
    style: str
    drafted_at: str


# ---------------------------------------------------------------- events


class ChronicleEvent(DomainEvent):
    """Base of the chronicle stream's events: chronicle and campaign ids, and when."""

    chronicle_id: str
    campaign_id: str
    at: Timestamp


@register_event
class ChapterDrafted(ChronicleEvent):
    """Chapter ``number`` was written by ``chronicler`` in ``style``, telling ``cited_turns``."""

    event_type: ClassVar[str] = "ChapterDrafted"
    schema_version: ClassVar[int] = 1

    number: int = Field(ge=1)
    title: str = Field(min_length=1)
    markdown: str = Field(min_length=1)
    cited_turns: tuple[int, ...] = Field(min_length=1)
    chronicler: str = Field(min_length=1)
    style: str


@register_event
class MediaAttached(ChronicleEvent):
    """A media asset was attached to the chronicle (or to one of its chapters)."""

    event_type: ClassVar[str] = "MediaAttached"
    schema_version: ClassVar[int] = 1

    asset: MediaAsset


@register_event
class ChroniclePublished(ChronicleEvent):
    """The chronicle, ``chapter_count`` chapters long, was published to ``destination``."""

    event_type: ClassVar[str] = "ChroniclePublished"
    schema_version: ClassVar[int] = 1

    destination: str = Field(min_length=1)
    format: PublishFormat
    chapter_count: int = Field(ge=1)


CHRONICLE_EVENTS: tuple[type[DomainEvent], ...] = (
    ChapterDrafted,
    MediaAttached,
    ChroniclePublished,
)


# ---------------------------------------------------------------- snapshot shape


class _ChronicleSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chronicle_id: str
    campaign_id: str
    status: ChronicleStatus
    chapters: tuple[Chapter, ...]
    media: tuple[MediaAsset, ...]
    published_to: str | None
    published_format: PublishFormat | None
    published_at: str | None
    updated_at: str
    version: int


# ---------------------------------------------------------------- aggregate


class Chronicle:
    """The Chronicle aggregate of one campaign.

    Publication is final: ``finalize_chronicle`` succeeds once, on a draft with at least one
    chapter; afterwards the chronicle takes no more chapters and cannot be published again
    (export the published chronicle instead). Media may still be attached after publication,
    since illustrations and their text alternatives do not change the story told.
    """

    def __init__(self, campaign_id: str | None = None) -> None:
        self.campaign_id: str = campaign_id or ""
        self.chronicle_id: str = chronicle_id_for(campaign_id) if campaign_id else ""
        self.status: ChronicleStatus = "draft"
        self.chapters: tuple[Chapter, ...] = ()
        self.media: tuple[MediaAsset, ...] = ()
        self.published_to: str | None = None
        self.published_format: PublishFormat | None = None
        self.published_at: str | None = None
        self.updated_at: str = ""
        self.version: int = 0

    @classmethod
    def for_campaign(cls, campaign_id: str) -> Chronicle:
        """The empty chronicle of ``campaign_id`` (version 0), ready for its first chapter."""
        if not campaign_id.strip():
            raise ChronicleUnbound("a chronicle belongs to a campaign; give its campaign id")
        return cls(campaign_id)

    # ------------------------------------------------------------ queries

    @property
    def turns_cited(self) -> tuple[int, ...]:
        """Every turn some chapter tells, sorted."""
        return tuple(sorted({turn for chapter in self.chapters for turn in chapter.cited_turns}))

    @property
    def last_cited_turn(self) -> int:
        """The latest turn told so far (0 before the first chapter)."""
        return max((max(ch.cited_turns) for ch in self.chapters), default=0)

    # ------------------------------------------------------------ commands

    def compose_chapter(
        self,
        *,
        number: int,
        title: str,
        markdown: str,
        cited_turns: Iterable[int],
        turns_played: int,
        chronicler: str,
        style: str,
        at: str,
    ) -> list[DomainEvent]:
        """Draft chapter ``number`` (the next one), citing turns among the ``turns_played``."""
        require_timestamp(at)
        self._require_bound()
        if self.status == "published":
            raise ChroniclePublishedError(
                f"the chronicle of campaign {self.campaign_id} was published to "
                f"{self.published_to}; it is final and takes no more chapters"
            )
        expected = len(self.chapters) + 1
        if number != expected:
            raise ChapterOutOfOrder(
                f"the chronicle has {len(self.chapters)} chapters, so the next is chapter "
                f"{expected}, not {number}; chapters are numbered 1..n in order"
            )
        if not title.strip():
            raise InvalidChapter(f"chapter {number} needs a title")
        if not markdown.strip():
            raise InvalidChapter(f"chapter {number} has no text; write it before drafting it")
        if not chronicler.strip():
            raise InvalidChapter(f"chapter {number} must name the chronicler who wrote it")
        turns = tuple(sorted(set(cited_turns)))
        if not turns:
            raise ChapterCitationError(
                f"chapter {number} cites no turn; every chapter tells at least one turn of "
                "the ledger"
            )
        bad = [turn for turn in turns if turn < 1 or turn > turns_played]
        if bad:
            raise ChapterCitationError(
                f"chapter {number} cites turn(s) {', '.join(map(str, bad))}, but the campaign "
                f"has played turns 1..{turns_played}; cite only turns that happened"
            )
        return [
            ChapterDrafted(
                chronicle_id=self.chronicle_id,
                campaign_id=self.campaign_id,
                number=number,
                title=title.strip(),
                markdown=markdown,
                cited_turns=turns,
                chronicler=chronicler.strip(),
                style=style,
                at=at,
            )
        ]

    def attach_media(self, asset: MediaAsset, at: str) -> list[DomainEvent]:
        """Attach ``asset``: it needs a text alternative, a sha256 checksum and a location."""
        require_timestamp(at)
        self._require_bound()
        label = asset.asset_id or "(no id)"
        if not asset.asset_id.strip():
            raise InvalidMediaAsset("a media asset needs an asset_id")
        if not asset.accessibility_text.strip():
            raise InvalidMediaAsset(
                f"media asset {label!r} has no accessibility text; describe what it shows for "
                "readers who cannot see it"
            )
        if not _SHA256_HEX.match(asset.checksum):
            raise InvalidMediaAsset(
                f"media asset {label!r} has checksum {asset.checksum!r}; give the sha256 of its "
                "content as 64 lowercase hex characters"
            )
        if not asset.storage_url.strip():
            raise InvalidMediaAsset(f"media asset {label!r} has no storage_url; upload it first")
        if not _MEDIA_TYPE.match(asset.media_type):
            raise InvalidMediaAsset(
                f"media asset {label!r} has media type {asset.media_type!r}; use a MIME type "
                "such as image/png"
            )
        if asset.chapter is not None and not 1 <= asset.chapter <= len(self.chapters):
            raise InvalidMediaAsset(
                f"media asset {label!r} illustrates chapter {asset.chapter}, but the chronicle "
                f"has chapters 1..{len(self.chapters)}"
            )
        if any(existing.asset_id == asset.asset_id for existing in self.media):
            raise InvalidMediaAsset(
                f"media asset {label!r} is already attached; give a new asset a new id"
            )
        return [
            MediaAttached(
                chronicle_id=self.chronicle_id, campaign_id=self.campaign_id, asset=asset, at=at
            )
        ]

    def finalize_chronicle(
        self, destination: str, format: PublishFormat, at: str
    ) -> list[DomainEvent]:
        """Publish the chronicle to ``destination``; allowed once, and only with chapters."""
        require_timestamp(at)
        self._require_bound()
        if self.status == "published":
            raise ChroniclePublishedError(
                f"the chronicle of campaign {self.campaign_id} was already published to "
                f"{self.published_to} at {self.published_at}; export that copy instead"
            )
        if not self.chapters:
            raise EmptyChronicle(
                f"the chronicle of campaign {self.campaign_id} has no chapters yet; compose "
                "at least one before publishing"
            )
        if not destination.strip():
            raise InvalidCommand("say where to publish the chronicle (destination is empty)")
        if format not in ("md", "html", "json"):
            raise InvalidCommand(f"cannot publish as {format!r}; choose md, html or json")
        return [
            ChroniclePublished(
                chronicle_id=self.chronicle_id,
                campaign_id=self.campaign_id,
                destination=destination.strip(),
                format=format,
                chapter_count=len(self.chapters),
                at=at,
            )
        ]

    # ------------------------------------------------------------ folding

    def apply(self, event: DomainEvent) -> None:
        """Fold one event into state. Rejects events of another campaign or out of sequence."""
        if not isinstance(event, ChronicleEvent):
            raise StreamMismatch(
                f"{event.event_type} is not a chronicle event and cannot be applied to one"
            )
        if event.chronicle_id != chronicle_id_for(event.campaign_id):
            raise StreamMismatch(
                f"{event.event_type} names chronicle {event.chronicle_id}, which is not the "
                f"chronicle of campaign {event.campaign_id}"
            )
        if self.campaign_id and event.campaign_id != self.campaign_id:
            raise StreamMismatch(
                f"{event.event_type} belongs to the chronicle of campaign {event.campaign_id}, "
                f"not of {self.campaign_id}"
            )
        if isinstance(event, ChapterDrafted):
            if self.status == "published" or event.number != len(self.chapters) + 1:
                raise StreamMismatch(
                    f"chapter {event.number} cannot follow {len(self.chapters)} chapters of a "
                    f"{self.status} chronicle; the stream is out of order"
                )
            chapter = Chapter(
                number=event.number,
                title=event.title,
                markdown=event.markdown,
                cited_turns=event.cited_turns,
                chronicler=event.chronicler,
                style=event.style,
                drafted_at=event.at,
            )
            self.chapters = (*self.chapters, chapter)
        elif isinstance(event, MediaAttached):
            self.media = (*self.media, event.asset)
        elif isinstance(event, ChroniclePublished):
            if self.status == "published":
                raise StreamMismatch(
                    f"the chronicle of campaign {event.campaign_id} was published twice"
                )
            self.status = "published"
            self.published_to = event.destination
            self.published_format = event.format
            self.published_at = event.at
        else:
            raise StreamMismatch(f"{event.event_type} is not handled by the chronicle aggregate")
        self.campaign_id = event.campaign_id
        self.chronicle_id = event.chronicle_id
        self.updated_at = event.at
        self.version += 1

    # ------------------------------------------------------------ snapshots

    def to_snapshot(self) -> dict[str, Any]:
        """The aggregate state as a JSON-ready dict."""
        fields = {name: getattr(self, name) for name in _ChronicleSnapshot.model_fields}
        return _ChronicleSnapshot(**fields).model_dump(mode="json")

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Chronicle:
        """Rebuild the aggregate from ``to_snapshot`` output."""
        try:
            state = _ChronicleSnapshot.model_validate(data)
        except ValidationError as exc:
            raise IncompatibleSnapshot(
                f"chronicle snapshot does not fit this version ({exc.error_count()} problems); "
                "replay the stream from its first event instead"
            ) from exc
        chronicle = cls()
        for name in _ChronicleSnapshot.model_fields:
            setattr(chronicle, name, getattr(state, name))
        return chronicle

    @classmethod
    def from_events(
        cls,
        events: Iterable[DomainEvent],
        snapshot: Mapping[str, Any] | None = None,
        *,
        campaign_id: str | None = None,
    ) -> Chronicle:
        """Fold ``events`` into a chronicle; ``campaign_id`` binds it even when there are none."""
        if snapshot is not None:
            chronicle = cls.from_snapshot(snapshot)
            if campaign_id is not None and chronicle.campaign_id != campaign_id:
                raise StreamMismatch(
                    f"the snapshot is of the chronicle of campaign {chronicle.campaign_id}, "
                    f"not of {campaign_id}"
                )
        else:
            chronicle = cls(campaign_id)
        for event in events:
            chronicle.apply(event)
        return chronicle

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Chronicle):
            return NotImplemented
        return self.to_snapshot() == other.to_snapshot()

    def __repr__(self) -> str:
        return (
            f"Chronicle(campaign_id={self.campaign_id!r}, chapters={len(self.chapters)}, "
            f"status={self.status!r}, version={self.version})"
        )

    # ------------------------------------------------------------ guards

    def _require_bound(self) -> None:
        if not self.campaign_id:
            raise ChronicleUnbound(
                "this chronicle is not bound to a campaign; load it with "
                "Chronicle.for_campaign(campaign_id)"
            )

"""Publishing chronicles: exports in three formats, media assets, and publication to a store.

- ``export(campaign, fmt)`` renders the chronicle (md with front matter, standalone HTML, or JSON
  with the turn ledger) after writing up turns not yet told.
- ``attach(campaign, path, alt, chapter)`` checks a file (size limit, media type sniffed from its
  content), uploads it to the media store and records ``MediaAttached`` with its storage URL,
  media type, sha256 checksum and accessibility text. ``read_asset`` reads it back and verifies
  the checksum.
- ``publish(campaign, fmt)`` finalizes the chronicle: it renders it, keeps a local copy under the
  data directory, uploads it to the media store and only then records ``ChroniclePublished`` with
  the storage URL. If the upload fails nothing is recorded, so the record never claims an upload
  that did not happen, and publishing again retries.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from dramatis.domain.campaign import Campaign, CampaignStarted, TurnAdvanced
from dramatis.domain.chronicle import Chronicle, MediaAsset, PublishFormat
from dramatis.domain.world import WorldState
from dramatis.engine.figures import ChapterFigureData, chapter_figure
from dramatis.ports import (
    ChronicleWriter,
    Clock,
    EventStore,
    MediaStore,
    MediaStoreError,
    StreamAppend,
    StreamNotFound,
)
from dramatis.services.campaigns import CampaignService
from dramatis.services.chronicles import CHRONICLE_STREAM, ChronicleService, chronicle_file_name
from dramatis.services.codec import decode, encode
from dramatis.services.control_plane import ControlPlaneService
from dramatis.services.errors import BadRequest
from dramatis.services.exports import (
    ChronicleDocument,
    EmbeddedMedia,
    ExportChapter,
    render_html,
    render_json,
    render_markdown,
)

DEFAULT_MAX_MEDIA_BYTES = 10 * 1024 * 1024
EMBED_LIMIT_BYTES = 4 * 1024 * 1024  # larger assets are linked from the HTML page, not embedded

FORMATS: tuple[PublishFormat, ...] = ("md", "html", "json")
_CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}

Progress = Callable[[str, int, int], None]
"""Told each step of a publication: (what is happening, steps done, steps in all)."""


class PublishFailed(MediaStoreError):
    """The chronicle could not be uploaded; it is kept locally and nothing was recorded."""


@dataclass(frozen=True)
class PublishResult:
    """Where a chronicle was published, and its local copy."""

    destination: str
    local_path: str
    format: PublishFormat
    chapter_count: int


# ---------------------------------------------------------------- media types

_EXTENSIONS = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/svg+xml": (".svg",),
    "audio/mpeg": (".mp3",),
    "audio/ogg": (".ogg", ".oga", ".opus"),
    "audio/wav": (".wav",),
    "audio/flac": (".flac",),
    "application/pdf": (".pdf",),
}
SUPPORTED_TYPES = tuple(_EXTENSIONS)


def sniff_media_type(data: bytes) -> str | None:
    """The media type the content itself shows (magic numbers), or None if unknown."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    text = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in text:
        return "image/svg+xml"
    return None


def extension_for(media_type: str) -> str:
    return _EXTENSIONS.get(media_type, (".bin",))[0]


# ---------------------------------------------------------------- the service


class PublishingService:
    """Exports, media and publication of chronicles."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        campaigns: CampaignService,
        chronicles: ChronicleService,
        media: MediaStore,
        writer: ChronicleWriter,
        *,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        local_media: MediaStore | None = None,
        control_plane: ControlPlaneService | None = None,
    ) -> None:
        # With the "publish.s3" flag off, publishing goes to ``local_media`` instead of ``media``.
        self.local_media = local_media
        self.control_plane = control_plane
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.chronicles = chronicles
        self.media = media
        self.writer = writer
        self.max_media_bytes = max_media_bytes

    # ------------------------------------------------------------ exports

    async def export(self, campaign_ref: str, fmt: str = "md") -> str:
        """The chronicle rendered as ``md``, ``html`` or ``json`` (pending turns written first)."""
        checked = _check_format(fmt)
        campaign = await self.campaigns.get(campaign_ref)
        chronicle = await self._written_up(campaign.campaign_id)
        doc = await self.document(campaign, chronicle, embed=checked == "html")
        return _render(doc, checked)

    async def document(
        self, campaign: Campaign, chronicle: Chronicle, *, embed: bool = False
    ) -> ChronicleDocument:
        """What the exports show: chapters with figures and media, the ledger, the front matter.

        With ``embed``, attached media up to a few MB are read back (checksums verified) so an
        HTML page carries them; larger ones are linked.
        """
        ledger = tuple(await self.campaigns.ledger(campaign.campaign_id))
        by_turn = {entry.turn_number: entry for entry in ledger}
        worlds = await self._worlds(campaign.campaign_id)
        names = {p.persona_id: p.name for p in campaign.participants}
        media: dict[int | None, list[EmbeddedMedia]] = {}
        for asset in chronicle.media:
            data = None
            if embed and self.media.owns(asset.storage_url):
                data = await self.read(asset, embed_only=True)
            media.setdefault(asset.chapter, []).append(EmbeddedMedia(asset, data))
        chapters = []
        for chapter in chronicle.chapters:
            told = [by_turn[t] for t in chapter.cited_turns if t in by_turn]
            figure = None
            if told:
                last = max(chapter.cited_turns)
                world = _world_at(worlds, last)
                figure = chapter_figure(
                    ChapterFigureData(
                        number=chapter.number,
                        title=chapter.title,
                        start_tension=told[0].tension_before,
                        tension=[(e.turn_number, e.tension_after) for e in told],
                        names=names,
                        trust=world.trust if world is not None else {},
                    )
                )
            chapters.append(
                ExportChapter(
                    number=chapter.number,
                    title=chapter.title,
                    markdown=chapter.markdown,
                    cited_turns=chapter.cited_turns,
                    figure=figure,
                    media=tuple(media.get(chapter.number, ())),
                )
            )
        return ChronicleDocument(
            chronicle_id=chronicle.chronicle_id,
            campaign_id=campaign.campaign_id,
            campaign_name=campaign.name,
            description=campaign.description,
            chronicler=campaign.chronicler.name,
            style=campaign.chronicler.style,
            status=chronicle.status,
            seed=campaign.seed,
            personas=tuple((p.persona_id, p.name) for p in campaign.participants),
            chapters=tuple(chapters),
            ledger=ledger,
            media=tuple(media.get(None, ())),
            turns_played=campaign.current_turn,
            locations={loc.id: loc.name for loc in campaign.brief.locations},
        )

    # ------------------------------------------------------------ media

    async def attach(
        self, campaign_ref: str, path: Path | str, alt: str, chapter: int | None = None
    ) -> MediaAsset:
        """Check ``path``, upload it and attach it to the chronicle (or to one chapter).

        Turns not yet told are written up first, so every chapter the exports show can be named.

        Refused with BadRequest, before anything is uploaded: a missing file, one over the size
        limit, content of an unknown type or not matching its name, no accessibility text, a
        chapter the chronicle does not have.
        """
        self.campaigns.require_actor("attach media")
        campaign = await self.campaigns.get(campaign_ref)
        chronicle = await self._written_up(campaign.campaign_id)
        alt = " ".join(alt.split())
        if not alt:
            raise BadRequest(
                "media needs accessibility text (--alt): describe what it shows or sounds like"
            )
        data, media_type = await asyncio.to_thread(self._read_file, Path(path).expanduser())
        checksum = hashlib.sha256(data).hexdigest()
        asset_id = checksum[:16] + (f"-ch{chapter}" if chapter is not None else "")
        draft = MediaAsset(
            asset_id=asset_id,
            storage_url="pending",
            media_type=media_type,
            checksum=checksum,
            accessibility_text=alt,
            chapter=chapter,
        )
        at = self.clock.now_iso()
        chronicle.attach_media(draft, at)  # every domain check before the upload
        key = f"chronicles/{campaign.campaign_id}/media/{asset_id}{extension_for(media_type)}"
        url = await self.media.put(key, data, media_type)
        asset = draft.model_copy(update={"storage_url": url})
        events = chronicle.attach_media(asset, at)
        await self.store.append(
            [
                StreamAppend(
                    chronicle.chronicle_id, CHRONICLE_STREAM, chronicle.version, encode(events)
                )
            ]
        )
        return asset

    async def read_asset(self, campaign_ref: str, asset_id: str) -> bytes:
        """An attached asset's bytes, read back from the media store with its checksum verified."""
        campaign = await self.campaigns.get(campaign_ref)
        chronicle = await self.chronicles.load(campaign.campaign_id)
        for asset in chronicle.media:
            if asset.asset_id == asset_id:
                return await self.media.get(asset.storage_url, sha256=asset.checksum)
        raise BadRequest(f"the chronicle of {campaign.name!r} has no media asset {asset_id!r}")

    async def read(self, asset: MediaAsset, *, embed_only: bool = False) -> bytes | None:
        """``asset``'s bytes with the checksum verified (None when ``embed_only`` and too big)."""
        data = await self.media.get(asset.storage_url, sha256=asset.checksum)
        if embed_only and len(data) > EMBED_LIMIT_BYTES:
            return None
        return data

    def _read_file(self, path: Path) -> tuple[bytes, str]:
        if not path.exists():
            raise BadRequest(f"no file at {path}")
        if not path.is_file():
            raise BadRequest(f"{path} is not a file")
        size = path.stat().st_size
        if size > self.max_media_bytes:
            raise BadRequest(
                f"{path.name} is {_mb(size)}, over the {_mb(self.max_media_bytes)} limit for media"
            )
        if size == 0:
            raise BadRequest(f"{path.name} is empty")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BadRequest(f"cannot read {path}: {exc.strerror or exc}") from None
        media_type = sniff_media_type(data)
        if media_type is None:
            raise BadRequest(
                f"{path.name} is not a media type dramatis accepts; attach PNG, JPEG, GIF, WebP "
                "or SVG images, MP3, Ogg, WAV or FLAC audio, or PDF maps"
            )
        suffix = path.suffix.lower()
        known = {ext: kind for kind, exts in _EXTENSIONS.items() for ext in exts}
        if suffix in known and known[suffix] != media_type:
            raise BadRequest(
                f"{path.name} is named like {known[suffix]} but its content is {media_type}; "
                "rename it or attach the right file"
            )
        return data, media_type

    # ------------------------------------------------------------ publishing

    async def _publish_target(self, campaign_id: str) -> MediaStore:
        """The configured media store, or the local one while the "publish.s3" flag is off."""
        if self.local_media is None or self.control_plane is None:
            return self.media
        flags = await self.control_plane.flags()
        return self.media if flags.enabled("publish.s3", campaign_id) else self.local_media

    async def publish(
        self, campaign_ref: str, fmt: str = "html", progress: Progress | None = None
    ) -> PublishResult:
        """Finalize the chronicle and publish it to the media store; see the module docstring."""
        self.campaigns.require_actor("publish chronicles")
        checked = _check_format(fmt)
        steps = 5

        def tell(what: str, done: int) -> None:
            if progress is not None:
                progress(what, done, steps)

        tell("writing up turns not yet told", 0)
        campaign = await self.campaigns.get(campaign_ref)
        chronicle = await self._written_up(campaign.campaign_id)
        if chronicle.status == "published":
            raise BadRequest(
                f"the chronicle of {campaign.name!r} was already published to "
                f"{chronicle.published_to} at {chronicle.published_at}; publishing is final "
                "(export a copy with --out)"
            )
        at = self.clock.now_iso()
        chronicle.finalize_chronicle("pending", checked, at)  # every domain check, no upload yet
        tell("rendering", 1)
        doc = await self.document(campaign, chronicle, embed=checked == "html")
        text = _render(_as_published(doc), checked)
        tell("keeping a local copy", 2)
        name = chronicle_file_name(campaign.name, campaign.campaign_id, checked)
        local = await self.writer.write(name, text)
        target = await self._publish_target(campaign.campaign_id)
        tell(f"uploading to {target.description}", 3)
        key = f"chronicles/{campaign.campaign_id}/{name}"
        try:
            url = await target.put(key, text.encode("utf-8"), _CONTENT_TYPES[checked])
        except MediaStoreError as exc:
            raise PublishFailed(
                f"{exc} (not published; the chronicle is kept at {local}; publish again to retry)"
            ) from None
        tell("recording the publication", 4)
        events = chronicle.finalize_chronicle(url, checked, at)
        await self.store.append(
            [
                StreamAppend(
                    chronicle.chronicle_id, CHRONICLE_STREAM, chronicle.version, encode(events)
                )
            ]
        )
        tell(f"published to {url}", 5)
        return PublishResult(
            destination=url,
            local_path=local,
            format=checked,
            chapter_count=len(chronicle.chapters),
        )

    # ------------------------------------------------------------ helpers

    async def _written_up(self, campaign_id: str) -> Chronicle:
        """The chronicle with every played turn told; a published one is final and kept as is."""
        chronicle = await self.chronicles.load(campaign_id)
        if chronicle.status == "published":
            return chronicle
        await self.chronicles.compose_pending(campaign_id)
        return await self.chronicles.load(campaign_id)

    async def _worlds(self, campaign_id: str) -> dict[int, WorldState]:
        try:
            records = await self.store.read_stream(campaign_id)
        except StreamNotFound:
            return {}
        wanted = {CampaignStarted.event_type, TurnAdvanced.event_type}
        worlds: dict[int, WorldState] = {}
        for event in decode([r for r in records if r.event_type in wanted]):
            if isinstance(event, CampaignStarted | TurnAdvanced):
                worlds[event.world.turn] = event.world
        return worlds


def _world_at(worlds: dict[int, WorldState], turn: int) -> WorldState | None:
    known = [t for t in worlds if t <= turn]
    return worlds[max(known)] if known else None


def _as_published(doc: ChronicleDocument) -> ChronicleDocument:
    return replace(doc, status="published")


def _render(doc: ChronicleDocument, fmt: PublishFormat) -> str:
    if fmt == "html":
        return render_html(doc)
    if fmt == "json":
        return render_json(doc)
    return render_markdown(doc)


def _check_format(fmt: str) -> PublishFormat:
    for known in FORMATS:
        if fmt == known:
            return known
    raise BadRequest(f"unknown chronicle format {fmt!r}; choose md, html or json")


def _mb(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"

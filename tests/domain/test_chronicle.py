"""Chronicle aggregate: chapters, media, publication, folding and snapshots."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from dramatis.domain.campaign import CampaignArchived
from dramatis.domain.chronicle import (
    ChapterCitationError,
    ChapterDrafted,
    ChapterOutOfOrder,
    Chronicle,
    ChroniclePublished,
    ChroniclePublishedError,
    ChronicleUnbound,
    EmptyChronicle,
    InvalidChapter,
    InvalidMediaAsset,
    MediaAsset,
    MediaAttached,
    chronicle_id_for,
)
from dramatis.domain.errors import IncompatibleSnapshot, InvalidCommand, StreamMismatch

AT = "2025-03-01T10:00:00+00:00"
LATER = "2025-03-01T12:00:00Z"
CAMPAIGN = "6b0f6a53-1f1c-4a43-9d9e-0f6b1f8f2a11"
OTHER_CAMPAIGN = "0c9a3f0e-7a57-4b0b-8f57-4dd8fbb0a2c3"
MAP_BYTES = b"\x89PNG a hand-drawn map of the dock"


def chapter_args(number: int, **overrides: object) -> dict:
    args: dict = {
        "number": number,
        "title": f"Chapter {number}: Wet Rope",
        "markdown": "Ana Vell searched the dock and found the wet rope.",
        "cited_turns": (number,),
        "turns_played": 10,
        "chronicler": "Old Mara",
        "style": "noir",
        "at": AT,
    }
    args.update(overrides)
    return args


def asset(**overrides: object) -> MediaAsset:
    fields: dict = {
        "asset_id": "map-1",
        "storage_url": "s3://dramatis-media/maps/dock.png",
        "media_type": "image/png",
        "checksum": hashlib.sha256(MAP_BYTES).hexdigest(),
        "accessibility_text": "A map of the dock: three piers, the ferry steps to the east.",
    }
    fields.update(overrides)
    return MediaAsset(**fields)


def with_chapters(count: int, campaign_id: str = CAMPAIGN) -> Chronicle:
    chronicle = Chronicle.for_campaign(campaign_id)
    for number in range(1, count + 1):
        for event in chronicle.compose_chapter(**chapter_args(number)):
            chronicle.apply(event)
    return chronicle


def published(count: int = 1) -> Chronicle:
    chronicle = with_chapters(count)
    for event in chronicle.finalize_chronicle("s3://dramatis-media/chronicles/salt.md", "md", AT):
        chronicle.apply(event)
    return chronicle


# ---------------------------------------------------------------- identity


def test_chronicle_id_is_a_stable_uuid5_of_the_campaign() -> None:
    first = chronicle_id_for(CAMPAIGN)
    assert first == chronicle_id_for(CAMPAIGN)
    assert uuid.UUID(first).version == 5
    assert first != chronicle_id_for(OTHER_CAMPAIGN)
    assert Chronicle.for_campaign(CAMPAIGN).chronicle_id == first


def test_an_unbound_chronicle_takes_no_command() -> None:
    with pytest.raises(ChronicleUnbound, match=r"Chronicle.for_campaign\(campaign_id\)"):
        Chronicle().compose_chapter(**chapter_args(1))
    with pytest.raises(ChronicleUnbound):
        Chronicle().attach_media(asset(), AT)
    with pytest.raises(ChronicleUnbound):
        Chronicle().finalize_chronicle("out.md", "md", AT)
    with pytest.raises(ChronicleUnbound, match="give its campaign id"):
        Chronicle.for_campaign(" ")


# ---------------------------------------------------------------- chapters


def test_compose_chapter_drafts_the_next_chapter() -> None:
    chronicle = Chronicle.for_campaign(CAMPAIGN)
    events = chronicle.compose_chapter(**chapter_args(1, cited_turns=[3, 1, 2, 1]))
    assert events == [
        ChapterDrafted(
            chronicle_id=chronicle_id_for(CAMPAIGN),
            campaign_id=CAMPAIGN,
            number=1,
            title="Chapter 1: Wet Rope",
            markdown="Ana Vell searched the dock and found the wet rope.",
            cited_turns=(1, 2, 3),
            chronicler="Old Mara",
            style="noir",
            at=AT,
        )
    ]
    assert chronicle.version == 0  # commands do not mutate
    chronicle.apply(events[0])
    assert [c.number for c in chronicle.chapters] == [1]
    assert chronicle.chapters[0].cited_turns == (1, 2, 3)
    assert chronicle.chapters[0].chronicler == "Old Mara"
    assert chronicle.chapters[0].drafted_at == AT
    assert chronicle.turns_cited == (1, 2, 3)
    assert chronicle.last_cited_turn == 3


@pytest.mark.parametrize("number", [0, 2, 5])
def test_the_first_chapter_is_chapter_one(number: int) -> None:
    with pytest.raises(ChapterOutOfOrder, match=f"next is chapter 1, not {number}"):
        Chronicle.for_campaign(CAMPAIGN).compose_chapter(**chapter_args(number))


@pytest.mark.parametrize("number", [2, 4])
def test_chapters_are_numbered_in_order(number: int) -> None:
    with pytest.raises(
        ChapterOutOfOrder, match=f"has 2 chapters, so the next is chapter 3, not {number}"
    ):
        with_chapters(2).compose_chapter(**chapter_args(number))


def test_a_chapter_cites_at_least_one_turn() -> None:
    with pytest.raises(ChapterCitationError, match="chapter 1 cites no turn"):
        Chronicle.for_campaign(CAMPAIGN).compose_chapter(**chapter_args(1, cited_turns=()))


@pytest.mark.parametrize(("turns", "bad"), [((0, 1), "0"), ((-2,), "-2"), ((9, 11, 12), "11, 12")])
def test_a_chapter_cites_only_played_turns(turns: tuple[int, ...], bad: str) -> None:
    with pytest.raises(ChapterCitationError, match=f"cites turn\\(s\\) {bad}, .* turns 1..10"):
        Chronicle.for_campaign(CAMPAIGN).compose_chapter(**chapter_args(1, cited_turns=turns))


def test_a_chapter_may_cite_the_last_played_turn() -> None:
    events = Chronicle.for_campaign(CAMPAIGN).compose_chapter(
        **chapter_args(1, cited_turns=(10,), turns_played=10)
    )
    assert events[0].cited_turns == (10,)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("title", "needs a title"),
        ("markdown", "has no text"),
        ("chronicler", "name the chronicler"),
    ],
)
def test_a_chapter_needs_title_text_and_chronicler(field: str, message: str) -> None:
    with pytest.raises(InvalidChapter, match=message):
        Chronicle.for_campaign(CAMPAIGN).compose_chapter(**chapter_args(1, **{field: "  "}))


def test_no_chapter_after_publication() -> None:
    with pytest.raises(ChroniclePublishedError, match="it is final and takes no more chapters"):
        published().compose_chapter(**chapter_args(2))


# ---------------------------------------------------------------- media


def test_attach_media_records_the_asset() -> None:
    chronicle = with_chapters(1)
    events = chronicle.attach_media(asset(chapter=1), LATER)
    assert events == [
        MediaAttached(
            chronicle_id=chronicle.chronicle_id,
            campaign_id=CAMPAIGN,
            asset=asset(chapter=1),
            at=LATER,
        )
    ]
    chronicle.apply(events[0])
    assert chronicle.media == (asset(chapter=1),)


@pytest.mark.parametrize("text", ["", "   "])
def test_media_needs_accessibility_text(text: str) -> None:
    with pytest.raises(InvalidMediaAsset, match="'map-1' has no accessibility text; describe"):
        with_chapters(1).attach_media(asset(accessibility_text=text), AT)


@pytest.mark.parametrize(
    "checksum",
    ["abc", "g" * 64, hashlib.sha256(MAP_BYTES).hexdigest().upper(), "a" * 63, "a" * 65],
)
def test_media_checksum_is_64_hex(checksum: str) -> None:
    with pytest.raises(InvalidMediaAsset, match="64 lowercase hex characters"):
        with_chapters(1).attach_media(asset(checksum=checksum), AT)


def test_media_needs_an_id_a_location_and_a_mime_type() -> None:
    chronicle = with_chapters(1)
    with pytest.raises(InvalidMediaAsset, match="needs an asset_id"):
        chronicle.attach_media(asset(asset_id=" "), AT)
    with pytest.raises(InvalidMediaAsset, match="has no storage_url; upload it first"):
        chronicle.attach_media(asset(storage_url=""), AT)
    with pytest.raises(InvalidMediaAsset, match="media type 'png'; use a MIME type"):
        chronicle.attach_media(asset(media_type="png"), AT)


def test_media_may_only_illustrate_existing_chapters() -> None:
    with pytest.raises(
        InvalidMediaAsset, match=r"illustrates chapter 3, but the chronicle has chapters 1\.\.2"
    ):
        with_chapters(2).attach_media(asset(chapter=3), AT)


def test_media_ids_are_unique() -> None:
    chronicle = with_chapters(1)
    chronicle.apply(chronicle.attach_media(asset(), AT)[0])
    with pytest.raises(InvalidMediaAsset, match="'map-1' is already attached"):
        chronicle.attach_media(asset(storage_url="s3://elsewhere/map.png"), AT)


def test_a_cover_can_be_attached_before_any_chapter_and_after_publication() -> None:
    cover = asset(asset_id="cover")
    assert Chronicle.for_campaign(CAMPAIGN).attach_media(cover, AT)[0].asset == cover
    assert published().attach_media(cover, AT)[0].asset == cover


# ---------------------------------------------------------------- publication


def test_finalize_publishes_the_chronicle_once() -> None:
    chronicle = with_chapters(3)
    events = chronicle.finalize_chronicle(" exports/salt.html ", "html", LATER)
    assert events == [
        ChroniclePublished(
            chronicle_id=chronicle.chronicle_id,
            campaign_id=CAMPAIGN,
            destination="exports/salt.html",
            format="html",
            chapter_count=3,
            at=LATER,
        )
    ]
    chronicle.apply(events[0])
    assert chronicle.status == "published"
    assert chronicle.published_to == "exports/salt.html"
    assert chronicle.published_format == "html"
    assert chronicle.published_at == LATER
    with pytest.raises(ChroniclePublishedError, match=r"already published to exports/salt\.html"):
        chronicle.finalize_chronicle("exports/again.md", "md", AT)


def test_an_empty_chronicle_cannot_be_published() -> None:
    with pytest.raises(EmptyChronicle, match="has no chapters yet; compose at least one"):
        Chronicle.for_campaign(CAMPAIGN).finalize_chronicle("out.md", "md", AT)


def test_publication_needs_a_destination_and_a_known_format() -> None:
    chronicle = with_chapters(1)
    with pytest.raises(InvalidCommand, match="destination is empty"):
        chronicle.finalize_chronicle("  ", "md", AT)
    with pytest.raises(InvalidCommand, match="cannot publish as 'pdf'; choose md, html or json"):
        chronicle.finalize_chronicle("out.pdf", "pdf", AT)  # type: ignore[arg-type]


# ---------------------------------------------------------------- apply


def test_apply_rejects_events_of_another_campaign() -> None:
    stray = with_chapters(0, OTHER_CAMPAIGN).compose_chapter(**chapter_args(1))[0]
    chronicle = with_chapters(0)
    with pytest.raises(StreamMismatch, match=f"chronicle of campaign {OTHER_CAMPAIGN}, not of"):
        chronicle.apply(stray)


def test_apply_rejects_a_chronicle_id_not_derived_from_the_campaign() -> None:
    forged = ChapterDrafted(
        chronicle_id=str(uuid.uuid4()),
        campaign_id=CAMPAIGN,
        number=1,
        title="Forged",
        markdown="Text.",
        cited_turns=(1,),
        chronicler="Nobody",
        style="plain",
        at=AT,
    )
    with pytest.raises(StreamMismatch, match="is not the chronicle of campaign"):
        Chronicle().apply(forged)


def test_apply_rejects_chapters_out_of_order_or_after_publication() -> None:
    chronicle = with_chapters(1)
    second = chronicle.compose_chapter(**chapter_args(2))[0]
    chronicle.apply(second)
    with pytest.raises(StreamMismatch, match="chapter 2 cannot follow 2 chapters"):
        chronicle.apply(second)
    after = published(1)
    with pytest.raises(StreamMismatch, match="of a published chronicle"):
        after.apply(with_chapters(1).compose_chapter(**chapter_args(2))[0])


def test_apply_rejects_a_second_publication() -> None:
    chronicle = with_chapters(1)
    event = chronicle.finalize_chronicle("out.md", "md", AT)[0]
    chronicle.apply(event)
    with pytest.raises(StreamMismatch, match="published twice"):
        chronicle.apply(event)


def test_apply_rejects_events_of_other_aggregates() -> None:
    foreign = CampaignArchived(campaign_id=CAMPAIGN, previous_status="active", at=AT)
    with pytest.raises(StreamMismatch, match="CampaignArchived is not a chronicle event"):
        with_chapters(1).apply(foreign)


# ---------------------------------------------------------------- replay and snapshots


def history() -> list:
    chronicle = Chronicle.for_campaign(CAMPAIGN)
    events: list = []

    def run(new: list) -> None:
        events.extend(new)
        for event in new:
            chronicle.apply(event)

    run(chronicle.attach_media(asset(asset_id="cover"), AT))
    for number in (1, 2, 3):
        run(chronicle.compose_chapter(**chapter_args(number)))
    run(chronicle.attach_media(asset(chapter=2), AT))
    run(chronicle.finalize_chronicle("exports/salt.json", "json", LATER))
    return events


def test_replay_equals_the_snapshot_round_trip() -> None:
    events = history()
    replayed = Chronicle.from_events(events)
    restored = Chronicle.from_snapshot(json.loads(json.dumps(replayed.to_snapshot())))
    assert restored == replayed
    assert restored.campaign_id == CAMPAIGN
    assert restored.chronicle_id == chronicle_id_for(CAMPAIGN)
    assert [c.number for c in restored.chapters] == [1, 2, 3]
    assert [m.asset_id for m in restored.media] == ["cover", "map-1"]
    assert restored.status == "published"
    assert restored.version == len(events)
    resumed = Chronicle.from_events(
        events[3:], snapshot=Chronicle.from_events(events[:3]).to_snapshot()
    )
    assert resumed == replayed


def test_from_events_binds_an_empty_stream_to_its_campaign() -> None:
    empty = Chronicle.from_events([], campaign_id=CAMPAIGN)
    assert empty.chronicle_id == chronicle_id_for(CAMPAIGN)
    assert empty.compose_chapter(**chapter_args(1))


def test_from_events_rejects_a_snapshot_of_another_campaign() -> None:
    snapshot = with_chapters(1, OTHER_CAMPAIGN).to_snapshot()
    with pytest.raises(StreamMismatch, match=f"chronicle of campaign {OTHER_CAMPAIGN}, not of"):
        Chronicle.from_events([], snapshot=snapshot, campaign_id=CAMPAIGN)


def test_a_snapshot_of_another_shape_is_incompatible() -> None:
    snapshot = with_chapters(1).to_snapshot()
    snapshot["status"] = "lost"
    with pytest.raises(IncompatibleSnapshot, match="chronicle snapshot does not fit"):
        Chronicle.from_snapshot(snapshot)

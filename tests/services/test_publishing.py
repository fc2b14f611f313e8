"""Publishing over the real composition root: exports, media attachment and publication."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from dramatis.adapters.media_files import FileMediaStore
from dramatis.bootstrap import Dramatis
from dramatis.domain.chronicle import MediaAsset
from dramatis.ports import MediaIntegrityError
from dramatis.services.errors import BadRequest
from dramatis.services.exports import ChronicleDocument, ExportChapter, render_html
from dramatis.services.publishing import PublishFailed, sniff_media_type
from dramatis.sheets.campaign_loader import LoadedCampaign

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HOSTILE = 'Mal<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """What a test needs to know about an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.h2_ids: list[str] = []
        self.scripts = 0
        self.handlers: list[str] = []
        self._section: str | None = None
        self.headings: list[tuple[str, str]] = []
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if attr.get("id"):
            self.ids.add(str(attr["id"]))
        if tag == "article" and attr.get("id", "").startswith("chapter-"):  # type: ignore[union-attr]
            self._section = attr["id"]
        if tag == "a" and attr.get("href"):
            self.links.append(str(attr["href"]))
        if tag == "img":
            self.images.append(attr)
        if tag == "script":
            self.scripts += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "h2":
            self._tag = "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag == "h2" and self._section and data.strip():
            self.headings.append((self._section, data.strip()))
            self._section = None


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


async def played(app: Dramatis, loaded: LoadedCampaign, turns: int = 10) -> str:
    result = await app.campaigns.play(loaded, turns=turns, offline=True)
    return result.view.campaign_id


def hostile(loaded: LoadedCampaign) -> LoadedCampaign:
    first = loaded.personas[0]
    sheet = first.loaded.sheet.model_copy(update={"name": HOSTILE})
    persona = dataclasses.replace(first, loaded=dataclasses.replace(first.loaded, sheet=sheet))
    return dataclasses.replace(loaded, personas=(persona, *loaded.personas[1:]))


# ---------------------------------------------------------------- exports


async def test_html_has_a_heading_per_chapter_and_working_citations(
    app: Dramatis, salt_road: LoadedCampaign
) -> None:
    cid = await played(app, salt_road)
    page = parse(await app.publishing.export(cid, "html"))
    chronicle = await app.chronicles.load(cid)
    assert len(chronicle.chapters) >= 2
    assert [section for section, _ in page.headings] == [
        f"chapter-{c.number}" for c in chronicle.chapters
    ]
    assert [title for _, title in page.headings] == [c.title for c in chronicle.chapters]
    internal = [link for link in page.links if link.startswith("#")]
    assert internal and all(link[1:] in page.ids for link in internal)
    for chapter in chronicle.chapters:  # every cited turn links to its ledger entry
        for turn in chapter.cited_turns:
            assert f"#turn-{turn}" in page.links and f"turn-{turn}" in page.ids
        assert f"#chapter-{chapter.number}" in page.links  # contents
    assert "ledger" in page.ids
    # one generated figure per chapter, each with accessibility text
    assert len(page.images) == len(chronicle.chapters)
    assert all((img.get("alt") or "").strip() for img in page.images)
    assert all(str(img["src"]).startswith("data:image/svg+xml;base64,") for img in page.images)
    assert "Tension" in (page.images[0].get("alt") or "").title()


async def test_persona_text_cannot_inject_markup(app: Dramatis, salt_road: LoadedCampaign) -> None:
    cid = await played(app, hostile(salt_road), turns=6)
    text = await app.publishing.export(cid, "html")
    page = parse(text)
    assert "Mal&lt;script&gt;" in text
    assert page.scripts == 0
    assert page.handlers == []
    assert "<img src=x" not in text


def test_chapter_markdown_cannot_inject_markup_or_script_links() -> None:
    doc = ChronicleDocument(
        chronicle_id="c" * 8,
        campaign_id="k" * 8,
        campaign_name="<b>Name</b>",
        description="desc",
        chronicler="<i>x</i>",
        style="plain",
        status="draft",
        seed=1,
        personas=(("p1", "<script>p</script>"),),
        chapters=(
            ExportChapter(
                number=1,
                title="<script>t</script>",
                markdown="## Chapter 1 — T\n\n<script>alert(1)</script>\n\n"
                '[click](javascript:alert(1)) <iframe src=x></iframe> ![i](x "t")',
                cited_turns=(1,),
            ),
        ),
        ledger=(),
        media=(),
    )
    text = render_html(doc)
    page = parse(text)
    assert page.scripts == 0 and page.handlers == []
    assert not [link for link in page.links if link.lower().startswith("javascript:")]
    assert "<iframe" not in text and "<script" not in text
    assert all((img.get("alt") or "").strip() for img in page.images)


async def test_markdown_has_front_matter_and_chapters_in_order(
    app: Dramatis, salt_road: LoadedCampaign
) -> None:
    cid = await played(app, salt_road)
    text = await app.publishing.export(cid, "md")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    chronicle = await app.chronicles.load(cid)
    assert meta["campaign_id"] == cid
    assert [p["name"] for p in meta["personas"]] == [p.sheet.name for p in salt_road.personas]
    assert meta["seed"] == (await app.campaigns.get(cid)).seed
    assert meta["turns"] == {"first": 1, "last": 10}
    positions = [body.index(f"## Chapter {c.number}") for c in chronicle.chapters]
    assert positions == sorted(positions)


async def test_json_carries_the_chronicle_and_the_ledger(
    app: Dramatis, salt_road: LoadedCampaign
) -> None:
    cid = await played(app, salt_road, turns=7)
    data = json.loads(await app.publishing.export(cid, "json"))
    assert data["schema"] == "dramatis.chronicle/1"
    assert [entry["turn_number"] for entry in data["ledger"]] == list(range(1, 8))
    assert data["chapters"][0]["cited_turns"][0] == 1
    assert data["chapters"][0]["figure"]["alt"]


async def test_an_unknown_format_is_bad_input(app: Dramatis, salt_road: LoadedCampaign) -> None:
    cid = await played(app, salt_road, turns=2)
    with pytest.raises(BadRequest, match="choose md, html or json"):
        await app.publishing.export(cid, "pdf")


# ---------------------------------------------------------------- media


def test_media_types_come_from_content() -> None:
    assert sniff_media_type(PNG) == "image/png"
    assert sniff_media_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_media_type(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert sniff_media_type(b"OggS\x00") == "audio/ogg"
    assert sniff_media_type(b'<?xml version="1.0"?><svg xmlns="x"/>') == "image/svg+xml"
    assert sniff_media_type(b"plain words") is None


async def test_attach_records_url_type_checksum_and_alt_and_reads_back_verified(
    app: Dramatis, salt_road: LoadedCampaign, tmp_path: Path
) -> None:
    cid = await played(app, salt_road)
    image = tmp_path / "map.png"
    image.write_bytes(PNG)
    asset = await app.publishing.attach(cid, image, "  A map of  the road  ", chapter=1)
    assert asset.media_type == "image/png"
    assert asset.checksum == hashlib.sha256(PNG).hexdigest()
    assert asset.accessibility_text == "A map of the road"
    assert asset.chapter == 1
    assert (await app.chronicles.load(cid)).media == (asset,)
    assert await app.publishing.read_asset(cid, asset.asset_id) == PNG

    page = parse(await app.publishing.export(cid, "html"))
    alts = [img.get("alt") for img in page.images]
    assert "A map of the road" in alts

    Path(urlparse(asset.storage_url).path).write_bytes(PNG + b"changed")
    with pytest.raises(MediaIntegrityError):
        await app.publishing.read_asset(cid, asset.asset_id)


@pytest.mark.parametrize(
    ("name", "content", "alt", "chapter", "message"),
    [
        ("notes.txt", b"just words", "alt", None, "not a media type"),
        ("map.png", b"GIF89a" + b"\x00" * 10, "alt", None, "content is image/gif"),
        ("map.png", PNG, "   ", None, "accessibility text"),
        ("map.png", PNG, "alt", 99, "chapter 99"),
        ("missing.png", None, "alt", None, "no file"),
        ("empty.png", b"", "alt", None, "empty"),
    ],
)
async def test_bad_media_is_refused_before_anything_is_stored(
    app: Dramatis,
    salt_road: LoadedCampaign,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    alt: str,
    chapter: int | None,
    message: str,
) -> None:
    cid = await played(app, salt_road, turns=3)
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(Exception, match=message) as caught:
        await app.publishing.attach(cid, path, alt, chapter=chapter)
    assert "\n" not in str(caught.value)
    assert (await app.chronicles.load(cid)).media == ()
    assert await app.publishing.media.list() == []


async def test_a_file_over_the_size_limit_is_refused(
    app: Dramatis, salt_road: LoadedCampaign, tmp_path: Path
) -> None:
    cid = await played(app, salt_road, turns=3)
    app.publishing.max_media_bytes = 50
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * 100)
    with pytest.raises(BadRequest, match="over the 50 bytes limit"):
        await app.publishing.attach(cid, big, "a big picture")
    assert await app.publishing.media.list() == []


# ---------------------------------------------------------------- publishing


async def test_publish_uploads_then_records_where_it_went(
    app: Dramatis, salt_road: LoadedCampaign
) -> None:
    cid = await played(app, salt_road)
    steps: list[tuple[str, int, int]] = []
    result = await app.publishing.publish(cid, "html", progress=lambda *s: steps.append(s))
    assert [done for _, done, _ in steps] == [0, 1, 2, 3, 4, 5]
    chronicle = await app.chronicles.load(cid)
    assert chronicle.status == "published"
    assert chronicle.published_to == result.destination
    assert chronicle.published_format == "html"
    stored = await app.publishing.media.get(result.destination)
    assert stored == Path(result.local_path).read_bytes()
    assert parse(stored.decode()).headings  # a real page

    with pytest.raises(BadRequest, match="already published"):
        await app.publishing.publish(cid, "md")


async def test_a_failed_upload_records_nothing_and_a_later_publish_succeeds(
    app: Dramatis, salt_road: LoadedCampaign, tmp_path: Path
) -> None:
    cid = await played(app, salt_road)
    working = app.publishing.media
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    app.publishing.media = FileMediaStore(blocker / "media")

    with pytest.raises(PublishFailed) as caught:
        await app.publishing.publish(cid, "md")
    message = str(caught.value)
    assert "\n" not in message and "publish again" in message
    chronicle = await app.chronicles.load(cid)
    assert chronicle.status == "draft" and chronicle.published_to is None
    records = await app.store.read_stream(chronicle.chronicle_id)
    assert "ChroniclePublished" not in {r.event_type for r in records}
    local = Path(message.split("kept at ", 1)[1].split(";", 1)[0])
    assert local.read_text(encoding="utf-8").startswith("---\n")  # the local copy is kept

    app.publishing.media = working
    result = await app.publishing.publish(cid, "md")
    assert (await app.chronicles.load(cid)).published_to == result.destination


async def test_an_empty_chronicle_cannot_be_published(
    app: Dramatis, salt_road: LoadedCampaign
) -> None:
    view = await app.campaigns.create(salt_road)
    await app.campaigns.start(view.campaign_id)
    with pytest.raises(Exception, match="no chapters"):
        await app.publishing.publish(view.campaign_id)
    assert await app.publishing.media.list() == []


def test_media_asset_round_trips() -> None:
    asset = MediaAsset(
        asset_id="a",
        storage_url="s3://b/k",
        media_type="image/png",
        checksum="0" * 64,
        accessibility_text="t",
    )
    assert MediaAsset.model_validate(asset.model_dump()) == asset


async def test_a_published_chronicle_still_exports_after_more_turns(
    app: Dramatis, endless_salt_road: LoadedCampaign
) -> None:
    cid = await played(app, endless_salt_road, turns=4)
    await app.publishing.publish(cid, "json")
    await app.campaigns.advance(cid, turns=2)
    data = json.loads(await app.publishing.export(cid, "json"))
    assert data["status"] == "published"
    assert data["turns"] == {"first": 1, "last": 4}

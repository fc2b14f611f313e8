"""Chapter prose from Gemini behind the ``gemini.chronicle`` flag, against the fake Gemini
server: no request while the flag is off, the server's prose (with the chapter's citation) when
it is on, and the offline chapter whenever Gemini cannot give usable prose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_gemini import FakeGemini, Reply, candidate_reply, error

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.services.chronicles import accept_prose
from dramatis.sheets.campaign_loader import find_sample, load_campaign_file

KEY = "AIza-chronicle-secret-key-0123456789"
MODEL = "gemini-test"
CITATION = "*— turns 1–3*"
PROSE = (
    "Dust lay thick on the salt road when the caravan set out.\n\n"
    "Words were traded at the well, and not all of them kind."
)


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY, model=MODEL) as server:
        yield server


def settings_for(tmp_path: Path, fake: FakeGemini, key: str | None, name: str) -> Settings:
    return Settings(
        data_dir=tmp_path / name,
        db=str(tmp_path / f"{name}.db"),
        gemini_api_key=key,
        gemini_base_url=fake.url,
        gemini_model=MODEL,
        gemini_max_attempts=2,
        gemini_backoff_base_seconds=0.001,
        gemini_backoff_max_seconds=0.005,
    )


def chronicler() -> ChroniclerSpec:
    return load_campaign_file(find_sample("salt-road")).campaign.chronicler


async def chapter_one(
    settings: Settings, *, flag: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Play three offline turns of salt-road and write chapter 1; (ChapterDrafted, names)."""
    loaded = load_campaign_file(find_sample("salt-road"))
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        if flag is not None:
            await app.control_plane.toggle_flag(
                "gemini.chronicle", flag, owner="ops", rollback_plan="set off"
            )
        view = await app.campaigns.create(loaded, seed=11)
        await app.campaigns.start(view.campaign_id)
        await app.campaigns.advance(view.campaign_id, turns=3)
        chapter = await app.chronicles.compose_next(view.campaign_id)
        records = await app.store.read_all()
    assert chapter is not None and chapter.cited_turns == (1, 2, 3)
    drafted = [r.payload for r in records if r.event_type == "ChapterDrafted"]
    assert len(drafted) == 1 and drafted[0]["markdown"] == chapter.markdown
    return drafted[0], [p.name for p in view.personas]


async def offline_chapter(tmp_path: Path, fake: FakeGemini) -> str:
    drafted, _ = await chapter_one(settings_for(tmp_path, fake, None, "offline"))
    return str(drafted["markdown"])


async def test_with_the_flag_off_no_request_is_made(fake: FakeGemini, tmp_path: Path) -> None:
    drafted, _ = await chapter_one(settings_for(tmp_path, fake, KEY, "off"))
    assert fake.count == 0
    assert drafted["chronicler"] == chronicler().name
    assert drafted["markdown"] == await offline_chapter(tmp_path, fake)


async def test_with_the_flag_on_the_chapter_is_gemini_prose_with_its_citation(
    fake: FakeGemini, tmp_path: Path
) -> None:
    fake.script(candidate_reply(f"# A title of its own\n\n{PROSE}\n\n*— turns 1–2*"))
    drafted, names = await chapter_one(settings_for(tmp_path, fake, KEY, "on"), flag="on")
    assert fake.count == 1
    markdown = drafted["markdown"]
    lines = markdown.strip().splitlines()
    assert lines[0].startswith("## Chapter 1 — ")
    assert "# A title of its own" not in markdown
    assert PROSE in markdown
    assert lines[-1] == CITATION and markdown.count("*— turn") == 1
    assert drafted["cited_turns"] == [1, 2, 3]
    assert drafted["chronicler"] == f"{chronicler().name} (Gemini)"
    request = fake.requests[0]
    assert request.headers["x-goog-api-key"] == KEY
    assert request.json["generationConfig"]["responseMimeType"] == "text/plain"
    prompt = request.user_text
    for name in names:
        assert name in prompt
    for turn in (1, 2, 3):
        assert f"Turn {turn} (tension" in prompt
    assert CITATION in prompt
    assert chronicler().name in request.system_text
    assert f"the style is {chronicler().style}" in request.system_text
    assert KEY not in prompt and KEY not in markdown


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param([error(500), error(500)], id="server-500"),
        pytest.param([Reply(200, b"this is not json")], id="garbage-body"),
        pytest.param([candidate_reply("<div>Dust on the road.</div>")], id="raw-html"),
        pytest.param([candidate_reply("   \n*— turns 1–3*\n")], id="only-a-citation"),
        pytest.param([candidate_reply(None, finish="MAX_TOKENS")], id="no-text"),
    ],
)
async def test_unusable_gemini_prose_falls_back_to_the_offline_chapter(
    fake: FakeGemini, tmp_path: Path, replies: list[Reply]
) -> None:
    fake.script(*replies)
    drafted, _ = await chapter_one(settings_for(tmp_path, fake, KEY, "failing"), flag="on")
    assert fake.count == len(replies)
    assert drafted["chronicler"] == chronicler().name
    assert drafted["markdown"] == await offline_chapter(tmp_path, fake)


async def test_without_a_key_the_flag_changes_nothing(fake: FakeGemini, tmp_path: Path) -> None:
    drafted, _ = await chapter_one(settings_for(tmp_path, fake, None, "nokey"), flag="on")
    assert fake.count == 0
    assert drafted["markdown"] == await offline_chapter(tmp_path, fake)


def test_accept_prose_checks_and_cites() -> None:
    heading = "## Chapter 2 — The Well"
    citation = "*— turn 4*"
    fenced = f"```markdown\n{PROSE}\n```"
    assert accept_prose(fenced, heading, citation) == f"{heading}\n\n{PROSE}\n\n{citation}\n"
    assert accept_prose(f"{PROSE}\n\n*— turns 9–12*", heading, citation) == (
        f"{heading}\n\n{PROSE}\n\n{citation}\n"
    )
    assert accept_prose("", heading, citation) is None
    assert accept_prose(f"{PROSE}<script>x()</script>", heading, citation) is None
    assert accept_prose(f"{PROSE}\n<!-- note -->", heading, citation) is None
    assert accept_prose("# Only a heading", heading, citation) is None

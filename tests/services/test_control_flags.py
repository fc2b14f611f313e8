"""Feature flags gate real behaviour; roles guard the control plane; SLO breaches are counted."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest

from dramatis.adapters.clock import FrozenClock
from dramatis.adapters.memory_cache import MemoryPromptCache
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.domain.context import DecisionContext
from dramatis.domain.control_plane import CONTROL_PLANE_STREAM, SLOBreached
from dramatis.domain.ledger import Decision, Provenance
from dramatis.engine.policy import decide_offline
from dramatis.ports import CacheKey
from dramatis.services.codec import decode
from dramatis.services.control_plane import GEMINI_PERSONAS_OFF, HUMAN_CONTROL_OFF
from dramatis.services.errors import PermissionDenied
from dramatis.sheets.campaign_loader import LoadedCampaign

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from fake_gemini import FakeGemini

KEY = "AIza-flags-test-key-0123456789"
PLAN = "set it back to on; nothing to migrate"


def with_brain(loaded: LoadedCampaign, brain: str, index: int = 0) -> LoadedCampaign:
    personas = tuple(
        dataclasses.replace(p, entry=p.entry.model_copy(update={"brain": brain}))
        if i == index
        else p
        for i, p in enumerate(loaded.personas)
    )
    return dataclasses.replace(loaded, personas=personas)


class RemoteStub:
    """A remote brain in-process: answers like the offline policy, labelled gemini."""

    name = "gemini"
    model = "stub-model"

    def __init__(self) -> None:
        self.calls = 0

    async def decide(self, context: DecisionContext) -> Decision:
        self.calls += 1
        decision = decide_offline(context)
        return decision.model_copy(update={"provenance": Provenance(source="gemini", model="m")})


class HumanStub:
    name = "human"

    def __init__(self) -> None:
        self.asked = 0

    async def decide(self, context: DecisionContext) -> Decision:
        self.asked += 1
        decision = decide_offline(context)
        return decision.model_copy(update={"provenance": Provenance(source="human")})


class CountingCache(MemoryPromptCache):
    def __init__(self) -> None:
        super().__init__(ttl_seconds=900)
        self.gets = 0
        self.puts = 0

    async def get(self, key: CacheKey) -> Decision | None:
        self.gets += 1
        return await super().get(key)

    async def put(self, key: CacheKey, decision: Decision) -> None:
        self.puts += 1
        await super().put(key, decision)


async def toggle(app: Dramatis, name: str, stage: str) -> None:
    await app.control_plane.toggle_flag(
        name, stage, owner="Rosa Lind", rollback_plan=PLAN, reason="test"
    )


async def decisions_of(app: Dramatis, campaign_id: str, index: int = 0) -> list[Any]:
    persona_id = (await app.campaigns.show(campaign_id)).personas[index].persona_id
    return list(reversed(await app.personas.decisions(persona_id, campaign_id)))  # oldest first


async def started(app: Dramatis, loaded: LoadedCampaign) -> str:
    view = await app.campaigns.create(loaded, seed=5, turn_limit=40)
    await app.campaigns.start(view.campaign_id)
    return view.campaign_id


async def test_gemini_personas_off_decides_offline_without_a_request(
    tmp_path: Path, endless_salt_road: LoadedCampaign
) -> None:
    loaded = with_brain(endless_salt_road, "gemini")
    with FakeGemini(api_key=KEY, model="gemini-test") as fake:
        settings = Settings(
            data_dir=tmp_path / "d",
            db=str(tmp_path / "g.db"),
            gemini_api_key=KEY,
            gemini_base_url=fake.url,
            gemini_model="gemini-test",
            gemini_max_attempts=1,
        )
        async with open_dramatis(settings, clock=FrozenClock()) as app:
            campaign_id = await started(app, loaded)
            await toggle(app, "gemini.personas", "off")
            await app.campaigns.advance(campaign_id, turns=3)
            assert fake.count == 0
            off = await decisions_of(app, campaign_id)
            assert [d.provenance.source for d in off] == ["offline"] * 3
            assert {d.provenance.fallback_reason for d in off} == {GEMINI_PERSONAS_OFF}
            assert (await app.campaigns.stats(campaign_id)).calls == 0

            await toggle(app, "gemini.personas", "on")
            await app.campaigns.advance(campaign_id, turns=2)
            assert fake.count == 2
            assert [d.provenance.source for d in await decisions_of(app, campaign_id)][3:] == [
                "gemini",
                "gemini",
            ]


async def test_cache_redis_off_bypasses_the_prompt_cache(
    settings: Settings, endless_salt_road: LoadedCampaign
) -> None:
    remote = RemoteStub()
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"gemini": remote}) as app:
        cache = CountingCache()
        app.campaigns.router.cache = cache
        campaign_id = await started(app, with_brain(endless_salt_road, "gemini"))
        await app.campaigns.advance(campaign_id, turns=2)
        assert (cache.gets, cache.puts) == (2, 2)

        await toggle(app, "cache.redis", "off")
        await app.campaigns.advance(campaign_id, turns=3)
        assert (cache.gets, cache.puts) == (2, 2)  # no lookups, nothing stored
        assert remote.calls == 5


async def test_personas_human_off_makes_human_personas_fall_back(
    settings: Settings, endless_salt_road: LoadedCampaign
) -> None:
    human = HumanStub()
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"human": human}) as app:
        campaign_id = await started(app, with_brain(endless_salt_road, "human"))
        await app.campaigns.advance(campaign_id, turns=1)
        assert human.asked == 1
        await toggle(app, "personas.human", "off")
        await app.campaigns.advance(campaign_id, turns=2)
        assert human.asked == 1
        later = (await decisions_of(app, campaign_id))[1:]
        assert [d.provenance.fallback_reason for d in later] == [HUMAN_CONTROL_OFF] * 2
        assert {d.provenance.source for d in later} == {"offline"}


async def test_a_toggle_in_one_process_applies_to_the_next_turn_of_another(
    settings: Settings, endless_salt_road: LoadedCampaign
) -> None:
    remote = RemoteStub()
    async with (
        open_dramatis(settings, clock=FrozenClock(), extra_brains={"gemini": remote}) as player,
        open_dramatis(settings, clock=FrozenClock()) as operator,
    ):
        campaign_id = await started(player, with_brain(endless_salt_road, "gemini"))
        await player.campaigns.advance(campaign_id, turns=1)  # the player has read the flags
        assert remote.calls == 1
        await toggle(operator, "gemini.personas", "off")
        await player.campaigns.advance(campaign_id, turns=2)
        assert remote.calls == 1
        reasons = [d.provenance.fallback_reason for d in await decisions_of(player, campaign_id)]
        assert reasons == [None, GEMINI_PERSONAS_OFF, GEMINI_PERSONAS_OFF]


async def test_a_percent_rollout_splits_campaigns_by_a_stable_bucket(
    settings: Settings, endless_salt_road: LoadedCampaign
) -> None:
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        await toggle(app, "personas.human", "percent:50")
        flags = await app.control_plane.flags()
        subjects = [f"campaign-{i}" for i in range(40)]
        answers = {subject: flags.enabled("personas.human", subject) for subject in subjects}
        assert set(answers.values()) == {True, False}
        again = await app.control_plane.flags()
        assert answers == {k: again.enabled("personas.human", k) for k in answers}


async def test_every_toggle_is_audited_with_actor_and_role(settings: Settings) -> None:
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        await toggle(app, "tui.live_updates", "off")
        record = (await app.store.read_stream(CONTROL_PLANE_STREAM))[-1]
    assert record.event_type == "FlagUpdated"
    assert record.metadata["actor"] == "operator" and record.metadata["role"] == "operator"
    assert record.payload["owner"] == "Rosa Lind" and record.payload["rollback_plan"] == PLAN
    assert record.payload["reason"] == "test" and record.payload["previous_stage"] == "on"
    assert record.recorded_at


@pytest.mark.parametrize("role", ["viewer", "player"])
async def test_only_an_operator_toggles_flags_or_registers_runbooks(
    tmp_path: Path, role: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "d", db=str(tmp_path / "r.db"), role=role)
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        await app.control_plane.load()
        before = await app.store.stream_version(CONTROL_PLANE_STREAM)
        with pytest.raises(PermissionDenied, match=f"only an operator may toggle flags.*{role}"):
            await toggle(app, "gemini.personas", "off")
        with pytest.raises(PermissionDenied, match="only an operator may register runbooks"):
            await app.control_plane.register_runbook("Pager", "# Pager\n\nCall Rosa.")
        assert await app.store.stream_version(CONTROL_PLANE_STREAM) == before
        assert (await app.control_plane.flags()).enabled("gemini.personas")


async def test_a_breach_is_recorded_once_per_excursion(settings: Settings) -> None:
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        for value in (1.0, 2.5, 3.0, 2.8, 1.2, 4.0):
            await app.control_plane.record_measurements({"turn p95": value})
        events = decode(await app.store.read_stream(CONTROL_PLANE_STREAM))
    breaches = [e for e in events if isinstance(e, SLOBreached)]
    assert [b.value for b in breaches] == [2.5, 4.0]


async def test_advancing_records_every_measured_slo(
    settings: Settings, endless_salt_road: LoadedCampaign
) -> None:
    remote = RemoteStub()
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"gemini": remote}) as app:
        campaign_id = await started(app, with_brain(endless_salt_road, "gemini"))
        await app.campaigns.advance(campaign_id, turns=3)
        plane = await app.control_plane.load()
    measured = {name: status.last.value for name, status in plane.slos.items() if status.last}
    assert set(measured) == {
        "turn p95",
        "decision p95",
        "fallback rate",
        "cache hit rate",
        "append p99",
    }
    assert measured["fallback rate"] == 0.0
    assert measured["cache hit rate"] == 0.0  # every prompt of a fresh campaign is new

"""Brains through the campaign service: the prompt cache (in memory and on a real Redis, which
may die mid-campaign), concurrent decisions within the configured bound, the per-campaign call
budget, and the decision statistics shown by the services and ``dramatis show --json``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from dramatis.adapters.clock import FrozenClock
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.bootstrap import open_dramatis
from dramatis.cli import main
from dramatis.config import Settings
from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision, Provenance
from dramatis.engine.director import build_context, describe_context
from dramatis.engine.policy import decide_offline
from dramatis.ports import CacheKey, StreamAppend
from dramatis.services.brains import BUDGET_SPENT, CallBudget, DecisionRouter, prompt_hash
from dramatis.sheets.campaign_loader import LoadedCampaign
from redis_support import private_redis_server


class ScriptedGemini:
    """A deterministic stand-in for a remote brain: picks the last option, counts its calls and
    how many of them were in flight at once."""

    name = "gemini"
    model = "gemini-test"

    def __init__(self) -> None:
        self.calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    async def decide(self, context: DecisionContext) -> Decision:
        self.calls += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            for _ in range(3):  # hand control back so other personas can start deciding
                await asyncio.sleep(0)
            option = context.options[-1]
            return Decision(
                action=option.action,
                target=option.target,
                reasoning=f"I choose to {option.label}.",
                provenance=Provenance(
                    source="gemini", model=self.model, latency_ms=5.0, tokens_in=200, tokens_out=30
                ),
            )
        finally:
            self.in_flight -= 1


class BrokenGemini(ScriptedGemini):
    async def decide(self, context: DecisionContext) -> Decision:
        self.calls += 1
        raise RuntimeError("the model server fell over")


class RefusingGemini(ScriptedGemini):
    """Falls back by itself: odd turns after sending a prompt (a safety block, with tokens),
    even turns without sending one (its circuit breaker is open)."""

    async def decide(self, context: DecisionContext) -> Decision:
        self.calls += 1
        sent = context.turn % 2 == 1
        fallback = decide_offline(context)
        provenance = Provenance(
            source="offline",
            prompt_hash="f" * 64 if sent else None,
            tokens_in=50 if sent else None,
            fallback_reason="safety block" if sent else "circuit open",
        )
        return fallback.model_copy(update={"provenance": provenance})


class FlakyStore(SQLiteEventStore):
    """A SQLite store whose next turn commit fails once (as a full disk would)."""

    fail_next_turn = False

    async def append(self, appends: Sequence[StreamAppend], idempotency: Any = None) -> Any:
        if self.fail_next_turn and len(appends) > 1:
            self.fail_next_turn = False
            raise OSError("disk full")
        return await super().append(appends, idempotency)


def all_gemini(loaded: LoadedCampaign) -> LoadedCampaign:
    personas = tuple(
        dataclasses.replace(p, entry=p.entry.model_copy(update={"brain": "gemini"}))
        for p in loaded.personas
    )
    return dataclasses.replace(loaded, personas=personas)


@pytest.fixture
def gemini_campaign(endless_salt_road: LoadedCampaign) -> LoadedCampaign:
    return all_gemini(endless_salt_road)


def unique_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        db=str(tmp_path / "dramatis.db"),
        tenant=f"t{uuid.uuid4().hex[:10]}",
        **extra,
    )


async def sources_of(app: Any, campaign_id: str) -> list[str]:
    return [
        e.source for ledger in await app.campaigns.ledger(campaign_id) for e in ledger.action_log
    ]


# ---------------------------------------------------------------- cache


async def test_a_turn_retried_after_a_failed_commit_is_answered_from_the_cache(
    tmp_path: Path, gemini_campaign: LoadedCampaign
) -> None:
    settings = unique_settings(tmp_path)
    store = FlakyStore(Path(settings.database), settings.tenant)
    brain = ScriptedGemini()
    async with open_dramatis(
        settings, clock=FrozenClock(), store=store, extra_brains={"gemini": brain}
    ) as app:
        view = await app.campaigns.create(gemini_campaign)
        await app.campaigns.start(view.campaign_id)
        personas = len(view.personas)
        await app.campaigns.advance(view.campaign_id)
        assert brain.calls == personas
        store.fail_next_turn = True
        with pytest.raises(OSError, match="disk full"):
            await app.campaigns.advance(view.campaign_id)
        assert brain.calls == 2 * personas
        result = await app.campaigns.advance(view.campaign_id)  # turn 2 again
        assert brain.calls == 2 * personas  # nobody was asked twice
        assert result.ledgers[0].turn_number == 2
        assert {e.source for e in result.ledgers[0].action_log} == {"cache"}
        pid = view.personas[0].persona_id
        decisions = await app.personas.decisions(pid)
        cached = next(d for d in decisions if d.turn == 2)
        assert cached.provenance.source == "cache"
        assert cached.provenance.model == "gemini-test"
        digest = cached.provenance.prompt_hash
        assert digest is not None
        key = CacheKey(settings.tenant, pid, 2, digest)
        assert await app.campaigns.prompt_cache.get(key) is not None
        stats = (await app.campaigns.show(view.campaign_id, with_stats=True)).stats
        assert stats is not None
        assert (stats.calls, stats.cache_hits) == (personas, personas)
        assert stats.cache_hit_rate == 0.5
        assert stats.tokens_in == 200 * personas and stats.tokens_out == 30 * personas


async def test_the_prompt_hash_covers_prompt_brain_and_model(
    app: Any, gemini_campaign: LoadedCampaign
) -> None:
    view = await app.campaigns.create(gemini_campaign)
    await app.campaigns.start(view.campaign_id)
    campaign = await app.campaigns.get(view.campaign_id)
    context = await _first_context(app, campaign)
    digest = prompt_hash(context, "gemini", "gemini-test")
    assert len(digest) == 64
    assert digest == prompt_hash(context, "gemini", "gemini-test")
    assert digest != prompt_hash(context, "gemini", "gemini-other")
    assert digest != prompt_hash(context, "openai", "gemini-test")
    later = context.model_copy(update={"turn": context.turn + 1})
    assert describe_context(later) != describe_context(context)
    assert prompt_hash(later, "gemini", "gemini-test") != digest


async def _first_context(app: Any, campaign: Any) -> DecisionContext:
    p = campaign.participants[0]
    return build_context(
        campaign_id=campaign.campaign_id,
        tenant_id=app.settings.tenant,
        seed=campaign.seed,
        turn=1,
        persona_id=p.persona_id,
        sheet=await app.personas.sheet(p.persona_id),
        world=campaign.world,
        brief=campaign.brief,
        names={q.persona_id: q.name for q in campaign.participants},
    )


async def test_offline_and_human_decisions_are_never_cached(
    app: Any, endless_salt_road: LoadedCampaign
) -> None:
    view = await app.campaigns.create(endless_salt_road)
    await app.campaigns.start(view.campaign_id)
    await app.campaigns.advance(view.campaign_id, turns=2)
    assert app.campaigns.router.counters.cache_misses == 0
    assert app.campaigns.router.counters.cache_hits == 0
    assert set(await sources_of(app, view.campaign_id)) == {"offline"}


# ---------------------------------------------------------------- concurrency


@pytest.mark.parametrize(("bound", "expected_peak"), [(8, 3), (2, 2), (1, 1)])
async def test_personas_of_a_turn_decide_concurrently_within_the_bound(
    tmp_path: Path, gemini_campaign: LoadedCampaign, bound: int, expected_peak: int
) -> None:
    assert len(gemini_campaign.personas) == 3
    brain = ScriptedGemini()
    settings = unique_settings(tmp_path, max_concurrent_decisions=bound)
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"gemini": brain}) as app:
        view = await app.campaigns.create(gemini_campaign)
        await app.campaigns.start(view.campaign_id)
        result = await app.campaigns.advance(view.campaign_id, turns=2)
    assert brain.peak_in_flight == expected_peak
    assert brain.calls == 6
    assert [len(ledger.action_log) for ledger in result.ledgers] == [3, 3]


def test_max_concurrent_decisions_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAMATIS_MAX_CONCURRENT_DECISIONS", "3")
    monkeypatch.setenv("DRAMATIS_CAMPAIGN_CALL_BUDGET", "50")
    settings = Settings()
    assert (settings.max_concurrent_decisions, settings.campaign_call_budget) == (3, 50)
    assert Settings(_env_file=None).redis_url is None
    with pytest.raises(ValueError, match="max_concurrent_decisions"):
        Settings(max_concurrent_decisions=0)


async def test_a_brain_that_raises_falls_back_and_the_turn_commits(
    tmp_path: Path, gemini_campaign: LoadedCampaign
) -> None:
    brain = BrokenGemini()
    async with open_dramatis(
        unique_settings(tmp_path), clock=FrozenClock(), extra_brains={"gemini": brain}
    ) as app:
        view = await app.campaigns.create(gemini_campaign)
        await app.campaigns.start(view.campaign_id)
        result = await app.campaigns.advance(view.campaign_id)
        assert result.view.turns == 1
        stats = (await app.campaigns.show(view.campaign_id, with_stats=True)).stats
    reason = "gemini brain failed (RuntimeError)"
    assert stats is not None
    assert stats.fallbacks_by_reason == {reason: 3}
    assert stats.calls == 3  # failed calls are calls
    assert stats.cache_hits == 0 and stats.tokens_in == 0


async def test_brain_fallbacks_count_as_calls_only_when_a_prompt_was_sent(
    tmp_path: Path, gemini_campaign: LoadedCampaign
) -> None:
    brain = RefusingGemini()
    async with open_dramatis(
        unique_settings(tmp_path), clock=FrozenClock(), extra_brains={"gemini": brain}
    ) as app:
        view = await app.campaigns.create(gemini_campaign)
        await app.campaigns.start(view.campaign_id)
        await app.campaigns.advance(view.campaign_id, turns=2)
        await app.campaigns.advance(view.campaign_id)
        stats = await app.campaigns.stats(view.campaign_id)
    assert brain.calls == 9
    assert stats.fallbacks_by_reason == {"safety block": 6, "circuit open": 3}
    assert (stats.calls, stats.tokens_in, stats.cache_hits) == (6, 300, 0)
    assert app.campaigns.router.counters.cache_hits == 0


# ---------------------------------------------------------------- budget


async def test_a_spent_call_budget_makes_personas_fall_back_and_says_so_once(
    tmp_path: Path, gemini_campaign: LoadedCampaign
) -> None:
    settings = unique_settings(tmp_path, campaign_call_budget=4)
    brain = ScriptedGemini()
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"gemini": brain}) as app:
        view = await app.campaigns.create(gemini_campaign)
        await app.campaigns.start(view.campaign_id)
        first = await app.campaigns.advance(view.campaign_id)
        assert first.notices == ()
        second = await app.campaigns.advance(view.campaign_id, turns=2)
        assert brain.calls == 4
        assert len(second.notices) == 1 and "call budget of 4" in second.notices[0]
        turn2 = [e.source for e in second.ledgers[0].action_log]
        assert sorted(turn2) == ["gemini", "offline", "offline"]
        assert {e.source for e in second.ledgers[1].action_log} == {"offline"}
    # A later session knows the budget is spent and that the player was already told.
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"gemini": brain}) as app:
        third = await app.campaigns.advance(view.campaign_id)
        assert third.notices == ()
        assert brain.calls == 4
        stats = await app.campaigns.stats(view.campaign_id)
    assert (stats.calls, stats.call_budget, stats.calls_remaining) == (4, 4, 0)
    assert stats.fallbacks_by_reason == {BUDGET_SPENT: 8}
    assert stats.by_source == {"gemini": 4, "offline": 8}


def test_call_budget_counts_and_tells_once() -> None:
    budget = CallBudget(1)
    assert budget.take_notice() is None
    assert budget.try_spend() and budget.remaining == 0
    assert not budget.try_spend()
    assert budget.take_notice() is not None
    assert not budget.try_spend()
    assert budget.take_notice() is None
    with pytest.raises(ValueError, match="negative"):
        CallBudget(-1)


# ---------------------------------------------------------------- statistics


async def test_stats_per_persona_and_campaign_in_show_json(
    tmp_path: Path, gemini_campaign: LoadedCampaign
) -> None:
    brain = ScriptedGemini()
    async with open_dramatis(
        unique_settings(tmp_path), clock=FrozenClock(), extra_brains={"gemini": brain}
    ) as app:
        view = await app.campaigns.create(gemini_campaign)
        await app.campaigns.start(view.campaign_id)
        await app.campaigns.advance(view.campaign_id, turns=2)
        await app.campaigns.advance(view.campaign_id, offline=True)  # no calls
        data = (await app.campaigns.show(view.campaign_id, with_stats=True)).to_json()
    stats = data["stats"]
    assert stats["decisions"] == 9 and stats["calls"] == 6
    assert stats["tokens_in"] == 1200 and stats["tokens_out"] == 180
    assert stats["cache_hits"] == 0 and stats["cache_hit_rate"] == 0.0
    assert stats["by_source"] == {"gemini": 6, "offline": 3}
    assert stats["fallbacks"] == 0 and stats["fallbacks_by_reason"] == {}
    assert stats["call_budget"] is None and stats["calls_remaining"] is None
    assert [p["persona_id"] for p in stats["personas"]] == [
        p["persona_id"] for p in data["personas"]
    ]
    for persona in stats["personas"]:
        assert (persona["brain"], persona["decisions"], persona["calls"]) == ("gemini", 3, 2)


async def test_router_without_cache_calls_every_time(
    app: Any, gemini_campaign: LoadedCampaign
) -> None:
    view = await app.campaigns.create(gemini_campaign)
    await app.campaigns.start(view.campaign_id)
    context = await _first_context(app, await app.campaigns.get(view.campaign_id))
    brain = ScriptedGemini()
    router = DecisionRouter({"gemini": brain}, clock=FrozenClock(), cache=None)
    first = await router.decide("gemini", context)
    second = await router.decide("gemini", context)
    assert brain.calls == 2
    assert first == second and first.provenance.source == "gemini"
    assert first.provenance.prompt_hash == prompt_hash(context, "gemini", "gemini-test")
    missing = await router.decide("openai", context)
    assert missing.provenance.fallback_reason == "openai brain not configured"


# ---------------------------------------------------------------- Redis


async def test_redis_dies_mid_campaign_and_play_goes_on_without_it(
    tmp_path: Path, gemini_campaign: LoadedCampaign
) -> None:
    brain = ScriptedGemini()
    with private_redis_server() as server:
        settings = unique_settings(tmp_path, redis_url=server.url, redis_cool_down_seconds=3600)
        async with open_dramatis(
            settings, clock=FrozenClock(), extra_brains={"gemini": brain}
        ) as app:
            cache = app.campaigns.prompt_cache
            assert cache.status().backend == "redis"
            view = await app.campaigns.create(gemini_campaign)
            await app.campaigns.start(view.campaign_id)
            await app.campaigns.advance(view.campaign_id, turns=2)
            raw = redis.Redis.from_url(server.url, decode_responses=True)
            keys = raw.keys(f"tenant:{settings.tenant}:persona:*:turn:*")
            assert len(keys) == 6
            assert all(890 <= raw.ttl(name) <= 900 for name in keys)
            raw.close()
            healthy = cache.status()
            assert healthy.available and healthy.failures == 0

            server.kill()
            result = await app.campaigns.advance(view.campaign_id, turns=3)
            assert [ledger.turn_number for ledger in result.ledgers] == [3, 4, 5]
            down = cache.status()
            assert not down.available
            # Only the lookups already under way when Redis vanished failed; after that the
            # cool-down kept every later lookup and write away from Redis.
            assert 1 <= down.failures <= 3
            assert down.attempts == healthy.attempts + down.failures
            assert down.skipped > 0
            await app.campaigns.advance(view.campaign_id)
            assert cache.status().attempts == down.attempts
            assert brain.calls == 18
            assert set(await sources_of(app, view.campaign_id)) == {"gemini"}
            stats = (await app.campaigns.show(view.campaign_id, with_stats=True)).stats
            assert stats is not None and stats.decisions == 18 and stats.calls == 18


def test_dramatis_show_json_has_a_stats_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["play", "salt-road", "--turns", "2", "--offline", "--json"]) == 0
    played = json.loads(capsys.readouterr().out)
    assert played["notices"] == []
    assert main(["show", played["campaign_id"], "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["stats"]
    personas = len(played["personas"])
    assert stats["decisions"] == 2 * personas
    assert stats["calls"] == 0 and stats["cache_hit_rate"] is None
    assert stats["by_source"] == {"offline": 2 * personas}
    assert {p["persona_id"] for p in stats["personas"]} == {
        p["persona_id"] for p in played["personas"]
    }

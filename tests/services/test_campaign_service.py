"""Campaign services over the real SQLite store: transactions, snapshots, idempotency, tenancy."""

from __future__ import annotations

import asyncio

import pytest

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.domain.errors import CampaignClosed
from dramatis.ports import IdempotencyConflict
from dramatis.services.errors import NotFound
from dramatis.sheets.campaign_loader import LoadedCampaign


async def test_a_turn_is_one_transaction_of_turn_and_decisions(
    app: Dramatis, salt_road: LoadedCampaign
) -> None:
    view = await app.campaigns.create(salt_road, seed=5)
    await app.campaigns.start(view.campaign_id)
    before = await app.store.last_position()
    await app.campaigns.advance(view.campaign_id)
    records = [
        r
        for r in await app.store.read_all(after_position=before)
        if r.stream_type in ("campaign", "persona")
    ]
    kinds = [r.event_type for r in records]
    assert kinds[0] == "TurnAdvanced"
    assert kinds[1:] == ["DecisionRecorded"] * len(view.personas)
    assert {r.metadata["correlation_id"] for r in records} == {f"{view.campaign_id}:1"}
    assert [r.position for r in records] == list(
        range(records[0].position, records[-1].position + 1)
    )


class ExplodingStore:
    """Wraps a real store and fails the append of the Nth turn, as a crash would."""

    def __init__(self, inner, fail_on_call: int) -> None:
        self._inner = inner
        self._calls = 0
        self._fail_on = fail_on_call

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def append(self, appends, idempotency=None):
        self._calls += 1
        if self._calls == self._fail_on:
            raise OSError("disk unplugged")
        return await self._inner.append(appends, idempotency)


async def test_a_failed_turn_leaves_no_half_turn(
    settings: Settings, salt_road: LoadedCampaign
) -> None:
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        view = await app.campaigns.create(salt_road)
        await app.campaigns.start(view.campaign_id)
        await app.campaigns.advance(view.campaign_id, turns=2)
        app.campaigns.store = ExplodingStore(app.store, fail_on_call=2)
        with pytest.raises(OSError):
            await app.campaigns.advance(view.campaign_id, turns=3)
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        shown = await app.campaigns.show(view.campaign_id)
        assert shown.turns == 3  # turn 3 landed, turn 4 failed whole
        decisions = [r for r in await app.store.read_all() if r.event_type == "DecisionRecorded"]
        assert len(decisions) == 3 * len(view.personas)
        resumed = await app.campaigns.advance(view.campaign_id)
        assert [ledger.turn_number for ledger in resumed.ledgers] == [4]


async def test_snapshots_every_ten_turns_and_loading_uses_them(
    app: Dramatis, endless_salt_road: LoadedCampaign
) -> None:
    view = await app.campaigns.create(endless_salt_road, turn_limit=100)
    await app.campaigns.start(view.campaign_id)
    await app.campaigns.advance(view.campaign_id, turns=23)
    snapshot = await app.store.load_snapshot(view.campaign_id)
    assert snapshot is not None
    assert snapshot.state["current_turn"] == 20
    persona_snapshot = await app.store.load_snapshot(view.personas[0].persona_id)
    assert persona_snapshot is not None and persona_snapshot.state["decision_count"] == 20
    shown = await app.campaigns.show(view.campaign_id)
    ledgers = await app.campaigns.ledger(view.campaign_id)
    assert shown.turns == 23
    assert shown.last_turn == ledgers[-1]


async def test_turn_limit_completes_the_campaign(
    app: Dramatis, endless_salt_road: LoadedCampaign
) -> None:
    view = await app.campaigns.create(endless_salt_road, turn_limit=4)
    await app.campaigns.start(view.campaign_id)
    result = await app.campaigns.advance(view.campaign_id, turns=10)
    assert len(result.ledgers) == 4
    assert result.view.status == "complete"
    with pytest.raises(CampaignClosed):
        await app.campaigns.advance(view.campaign_id)


async def test_idempotent_create_and_advance(app: Dramatis, salt_road: LoadedCampaign) -> None:
    first = await app.campaigns.create(salt_road, seed=1, idempotency_key="k-create")
    again = await app.campaigns.create(salt_road, seed=1, idempotency_key="k-create")
    assert again.campaign_id == first.campaign_id
    assert len(await app.campaigns.list_campaigns()) == 1
    with pytest.raises(IdempotencyConflict):
        await app.campaigns.create(salt_road, seed=2, idempotency_key="k-create")

    await app.campaigns.start(first.campaign_id)
    played = await app.campaigns.advance(first.campaign_id, turns=2, idempotency_key="k-adv")
    repeat = await app.campaigns.advance(first.campaign_id, turns=2, idempotency_key="k-adv")
    assert repeat.view.turns == 2
    assert repeat.ledgers == played.ledgers


async def test_tenants_do_not_see_each_other(settings: Settings, salt_road: LoadedCampaign) -> None:
    async with open_dramatis(settings, clock=FrozenClock()) as app_a:
        view = await app_a.campaigns.create(salt_road)
    other = settings.model_copy(update={"tenant": "other"})
    async with open_dramatis(other, clock=FrozenClock()) as app_b:
        assert await app_b.campaigns.list_campaigns() == []
        with pytest.raises(NotFound):
            await app_b.campaigns.show(view.campaign_id)
        with pytest.raises(NotFound):
            await app_b.campaigns.advance(view.campaign_id)


class BarrierBrain:
    """A real brain whose turn-1 decisions wait at a barrier before answering."""

    name = "offline"

    def __init__(self, inner, barrier: asyncio.Barrier) -> None:
        self._inner = inner
        self._barrier = barrier

    async def decide(self, context):
        if context.turn == 1:
            await self._barrier.wait()
        return await self._inner.decide(context)


async def test_two_writers_on_one_campaign_never_double_a_turn(
    settings: Settings, salt_road: LoadedCampaign
) -> None:
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        view = await app.campaigns.create(salt_road)
        await app.campaigns.start(view.campaign_id)
    # Both writers load turn 0, then meet at a barrier inside their brains before either
    # appends: the race is forced, not left to scheduling. The loser replays on top.
    barrier = asyncio.Barrier(2 * len(view.personas))
    async with (
        open_dramatis(settings, clock=FrozenClock()) as one,
        open_dramatis(settings, clock=FrozenClock()) as two,
    ):
        for app in (one, two):
            app.campaigns.brains["offline"] = BarrierBrain(app.campaigns.brains["offline"], barrier)
        results = await asyncio.gather(
            one.campaigns.advance(view.campaign_id),
            two.campaigns.advance(view.campaign_id),
        )
        assert sorted(r.lost_races for r in results) == [0, 1]
        assert sorted(r.ledgers[0].turn_number for r in results) == [1, 2]
        ledgers = await one.campaigns.ledger(view.campaign_id)
        assert [ledger.turn_number for ledger in ledgers] == [1, 2]
        decisions = [r for r in await one.store.read_all() if r.event_type == "DecisionRecorded"]
        assert len(decisions) == 2 * len(view.personas)


async def test_ledger_ranges_read_the_right_turns(
    app: Dramatis, endless_salt_road: LoadedCampaign
) -> None:
    view = await app.campaigns.create(endless_salt_road, turn_limit=50)
    await app.campaigns.start(view.campaign_id)
    await app.campaigns.advance(view.campaign_id, turns=12)
    everything = await app.campaigns.ledger(view.campaign_id)
    assert [ledger.turn_number for ledger in everything] == list(range(1, 13))
    middle = await app.campaigns.ledger(view.campaign_id, 5, 7)
    assert middle == everything[4:7]
    assert await app.campaigns.ledger(view.campaign_id, last=3) == everything[-3:]
    assert await app.campaigns.ledger(view.campaign_id, last=100) == everything

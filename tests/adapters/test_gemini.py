"""The Gemini brain against a real fake Gemini server on 127.0.0.1: requests, retries,
degradation to the offline policy, the circuit breaker, provenance, and the wiring through the
services and the CLI."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_gemini import (
    MODEL_VERSION,
    FakeGemini,
    candidate_reply,
    daily_quota,
    drop,
    error,
    hang,
    prompt_blocked,
    rate_limited,
    success,
    usage,
)

from dramatis.adapters.clock import FrozenClock
from dramatis.adapters.gemini import CircuitBreaker, GeminiBrain, match_option
from dramatis.bootstrap import build_brains, open_dramatis
from dramatis.cli import main
from dramatis.config import Settings
from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision
from dramatis.engine.director import build_context
from dramatis.engine.policy import decide_offline
from dramatis.engine.world import initial_world
from dramatis.sheets.campaign_loader import find_sample, load_campaign_file

KEY = "AIza-test-secret-key-0123456789"
MODEL = "gemini-test"


class ManualClock:
    """A monotonic clock the test moves by hand (for the breaker's cool-down)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(api_key=KEY, model=MODEL) as server:
        yield server


def make_brain(fake: FakeGemini, **overrides: Any) -> GeminiBrain:
    options: dict[str, Any] = {
        "base_url": fake.url,
        "model": MODEL,
        "timeout_seconds": 2.0,
        "max_attempts": 3,
        "backoff_base_seconds": 0.001,
        "backoff_max_seconds": 0.005,
        "retry_delay_cap_seconds": 0.5,
        "breaker_threshold": 5,
        "breaker_cooldown_seconds": 60.0,
    }
    options.update(overrides)
    return GeminiBrain(KEY, **options)


@pytest.fixture
async def brain(fake: FakeGemini) -> AsyncIterator[GeminiBrain]:
    async with make_brain(fake) as opened:
        yield opened


@pytest.fixture(scope="module")
def contexts() -> list[DecisionContext]:
    """Turn-1 contexts of the salt-road sample's personas."""
    loaded = load_campaign_file(find_sample("salt-road"))
    brief = loaded.campaign.world
    ids = [f"p{i}" for i in range(len(loaded.personas))]
    names = {pid: persona.sheet.name for pid, persona in zip(ids, loaded.personas, strict=True)}
    world = initial_world(brief, ids, 7, names=names)
    return [
        build_context(
            world,
            brief,
            pid,
            persona.sheet,
            names,
            7,
            campaign_id="c-1",
        )
        for pid, persona in zip(ids, loaded.personas, strict=True)
    ]


@pytest.fixture
def context(contexts: list[DecisionContext]) -> DecisionContext:
    return contexts[0]


def assert_gemini(decision: Decision, fake: FakeGemini) -> None:
    p = decision.provenance
    assert p.source == "gemini"
    assert p.fallback_reason is None
    assert p.model == MODEL_VERSION
    assert p.tokens_in == 321 and p.tokens_out == 27
    assert p.prompt_hash == hashlib.sha256(fake.requests[-1].body).hexdigest()
    assert p.latency_ms > 0


def assert_offline(decision: Decision, context: DecisionContext, reason_part: str) -> None:
    p = decision.provenance
    assert p.source == "offline"
    assert p.fallback_reason is not None and reason_part in p.fallback_reason
    offline = decide_offline(context)
    assert (decision.action, decision.target, decision.reasoning) == (
        offline.action,
        offline.target,
        offline.reasoning,
    )
    assert KEY not in p.fallback_reason


# ---------------------------------------------------------------- success


async def test_success_sends_a_gemini_request_and_records_provenance(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    second = context.options[1]
    fake.script(
        success(
            {
                "option": 2,
                "action": second.action.value,
                "target": second.target,
                "reasoning": "  I will not   wait for the gate to decide for me. ",
            }
        )
    )
    decision = await brain.decide(context)

    assert fake.count == 1
    seen = fake.requests[0]
    assert seen.path == f"/v1beta/models/{MODEL}:generateContent"
    assert seen.headers["x-goog-api-key"] == KEY
    assert KEY.encode() not in seen.body
    body = seen.json
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert set(schema["properties"]) == {"option", "action", "target", "reasoning"}
    assert set(schema["properties"]["action"]["enum"]) == {o.action.value for o in context.options}
    assert config["temperature"] == 0.9 and config["maxOutputTokens"] == 1024
    name = context.names[context.persona_id]
    assert f"You are {name}." in seen.system_text
    assert f"You are {name}." not in seen.user_text
    assert "What do you do?" in seen.user_text
    for number, option in enumerate(context.options, start=1):
        assert f"{number}. {option.label}" in seen.user_text

    assert (decision.action, decision.target) == (second.action, second.target)
    assert decision.reasoning == "I will not wait for the gate to decide for me."
    assert_gemini(decision, fake)


async def test_an_answer_by_action_and_target_name_is_matched_to_the_list(
    fake: FakeGemini, brain: GeminiBrain, contexts: list[DecisionContext]
) -> None:
    context, option = next(
        (ctx, o) for ctx in contexts for o in ctx.options if o.target_name is not None
    )
    fake.script(
        success(
            {
                "action": option.action.value,
                "target": option.target_name.upper(),
                "reasoning": "They know more than they say.",
            }
        )
    )
    decision = await brain.decide(context)
    assert (decision.action, decision.target) == (option.action, option.target)
    assert_gemini(decision, fake)
    assert fake.count == 1


async def test_success_after_a_delay_is_still_one_call(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(success(delay=0.3))
    decision = await brain.decide(context)
    assert_gemini(decision, fake)
    assert decision.action == context.options[0].action
    assert fake.count == 1


# ---------------------------------------------------------------- retries


async def test_429_with_retry_info_is_retried_after_the_delay(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(rate_limited("0.02s"), success())
    decision = await brain.decide(context)
    assert_gemini(decision, fake)
    assert fake.count == 2


async def test_429_asking_for_longer_than_the_cap_is_not_retried(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(rate_limited("45s"))
    decision = await brain.decide(context)
    assert_offline(decision, context, "45s")
    assert decision.provenance.prompt_hash == hashlib.sha256(fake.requests[0].body).hexdigest()
    assert fake.count == 1


async def test_daily_quota_429_is_not_retried_and_opens_the_circuit(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(daily_quota())
    decision = await brain.decide(context)
    assert_offline(decision, context, "daily quota")
    assert fake.count == 1
    again = await brain.decide(context)
    assert_offline(again, context, "circuit open")
    assert fake.count == 1


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext, status: int
) -> None:
    fake.script(error(status), success())
    decision = await brain.decide(context)
    assert_gemini(decision, fake)
    assert fake.count == 2


async def test_500_on_every_try_falls_back_after_the_last_try(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(error(500), error(500), error(500))
    decision = await brain.decide(context)
    assert_offline(decision, context, "HTTP 500 INTERNAL (gave up after 3 tries)")
    assert fake.count == 3
    assert fake.pending == 0


async def test_503_twice_then_success(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(error(503), error(503), success())
    decision = await brain.decide(context)
    assert_gemini(decision, fake)
    assert fake.count == 3


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_client_errors_are_never_retried(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext, status: int
) -> None:
    fake.script(error(status), success())
    decision = await brain.decide(context)
    assert_offline(decision, context, f"HTTP {status}")
    assert fake.count == 1


async def test_a_hang_past_the_timeout_is_retried(
    fake: FakeGemini, context: DecisionContext
) -> None:
    fake.script(hang(), success())
    async with make_brain(fake, timeout_seconds=0.2) as brain:
        decision = await brain.decide(context)
    assert_gemini(decision, fake)
    assert fake.count == 2


async def test_hanging_on_every_try_falls_back_with_the_timeout_as_reason(
    fake: FakeGemini, context: DecisionContext
) -> None:
    fake.script(hang(), hang())
    async with make_brain(fake, timeout_seconds=0.2, max_attempts=2) as brain:
        decision = await brain.decide(context)
    assert_offline(decision, context, "timed out")
    assert fake.count == 2


async def test_a_closed_connection_is_retried(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(drop(), success())
    decision = await brain.decide(context)
    assert_gemini(decision, fake)
    assert fake.count == 2


async def test_a_refused_connection_falls_back(context: DecisionContext) -> None:
    server = FakeGemini(api_key=KEY, model=MODEL).start()
    url = server.url
    server.stop()  # nothing listens on that port any more
    async with GeminiBrain(
        KEY, base_url=url, model=MODEL, max_attempts=2, backoff_base_seconds=0.001
    ) as brain:
        decision = await brain.decide(context)
    assert_offline(decision, context, "connection failed")


# ---------------------------------------------------------------- unusable answers


async def test_a_blocked_prompt_falls_back_without_retry(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(prompt_blocked("SAFETY"))
    decision = await brain.decide(context)
    assert_offline(decision, context, "blockReason SAFETY")
    assert decision.provenance.tokens_in == 300
    assert fake.count == 1


async def test_a_safety_finish_falls_back(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(candidate_reply(None, finish="SAFETY"))
    decision = await brain.decide(context)
    assert_offline(decision, context, "finishReason SAFETY")
    assert fake.count == 1


async def test_max_tokens_without_parts_falls_back_and_keeps_the_token_counts(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(candidate_reply(None, finish="MAX_TOKENS", tokens=usage(400, 0, thoughts=1024)))
    decision = await brain.decide(context)
    assert_offline(decision, context, "MAX_TOKENS")
    assert decision.provenance.tokens_in == 400
    assert decision.provenance.tokens_out == 1024
    assert decision.provenance.prompt_hash == hashlib.sha256(fake.requests[0].body).hexdigest()
    assert fake.count == 1


async def test_invalid_json_falls_back(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext
) -> None:
    fake.script(candidate_reply('{"option": 1, "reasoning": "cut off'))
    decision = await brain.decide(context)
    assert_offline(decision, context, "not valid JSON")
    assert fake.count == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"action": "fly", "target": "the moon", "reasoning": "Why not."},
        {"option": 99, "reasoning": "The ninety-ninth door."},
        {"option": 1, "action": "teleport", "reasoning": "Number one, my way."},
    ],
)
async def test_an_action_not_on_the_list_falls_back(
    fake: FakeGemini, brain: GeminiBrain, context: DecisionContext, answer: dict[str, Any]
) -> None:
    fake.script(success(answer))
    decision = await brain.decide(context)
    assert_offline(decision, context, "not on the list")
    assert fake.count == 1


def test_match_option_prefers_the_number_and_checks_it_against_the_action(
    context: DecisionContext,
) -> None:
    first = context.options[0]
    assert match_option({"option": "1"}, context.options) == first
    assert match_option({"option": 1, "action": first.action.value}, context.options) == first
    assert match_option({"action": first.label.upper()}, context.options) == first


# ---------------------------------------------------------------- circuit breaker


async def test_the_circuit_opens_after_repeated_failures_and_probes_after_the_cooldown(
    fake: FakeGemini, context: DecisionContext
) -> None:
    clock = ManualClock()
    fake.script(error(500), error(500), error(500))
    async with make_brain(
        fake, max_attempts=1, breaker_threshold=2, breaker_cooldown_seconds=30, clock=clock
    ) as brain:
        assert_offline(await brain.decide(context), context, "HTTP 500")
        assert_offline(await brain.decide(context), context, "HTTP 500")
        assert fake.count == 2
        assert brain.breaker.state == "open"
        for _ in range(3):
            assert_offline(await brain.decide(context), context, "circuit open")
        assert fake.count == 2

        clock.now += 31  # the probe fails: open again for another cool-down
        assert_offline(await brain.decide(context), context, "HTTP 500")
        assert fake.count == 3
        assert_offline(await brain.decide(context), context, "circuit open")
        assert fake.count == 3

        clock.now += 31  # the probe succeeds: closed
        assert_gemini(await brain.decide(context), fake)
        assert fake.count == 4
        assert brain.breaker.state == "closed"
        assert_gemini(await brain.decide(context), fake)
        assert fake.count == 5


def test_half_open_breaker_lets_one_probe_through() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow()
    assert not breaker.allow()  # the probe is in flight
    breaker.record_success()
    assert breaker.allow() and breaker.allow()


# ---------------------------------------------------------------- the key stays secret


async def test_the_api_key_is_never_logged_recorded_or_shown(
    fake: FakeGemini, context: DecisionContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.script(error(400, message=f"API key {KEY} not valid"), error(500), error(500))
    async with make_brain(fake, max_attempts=2) as brain:
        first = await brain.decide(context)
        second = await brain.decide(context)
        assert KEY not in repr(brain)
    assert_offline(first, context, "HTTP 400 INVALID_ARGUMENT: API key *** not valid")
    assert_offline(second, context, "HTTP 500")
    assert KEY not in first.model_dump_json() + second.model_dump_json()
    assert "gemini fell back" in caplog.text
    assert KEY not in caplog.text
    assert fake.count == 3


async def test_a_wrong_key_is_a_400_and_is_not_retried(
    fake: FakeGemini, context: DecisionContext
) -> None:
    async with GeminiBrain(
        "another-key", base_url=fake.url, model=MODEL, backoff_base_seconds=0.001
    ) as brain:
        decision = await brain.decide(context)
    assert_offline(decision, context, "API key not valid")
    assert fake.count == 1


# ---------------------------------------------------------------- wiring


def gemini_settings(tmp_path: Path, fake: FakeGemini | None, key: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        db=str(tmp_path / "dramatis.db"),
        gemini_api_key=key,
        gemini_base_url=fake.url if fake else "http://127.0.0.1:9",
        gemini_model=MODEL,
        gemini_backoff_base_seconds=0.001,
        gemini_backoff_max_seconds=0.005,
    )


def salt_road_with_gemini_brains(folder: Path) -> Path:
    """A copy of the salt-road sample whose personas think with Gemini."""
    sample = find_sample("salt-road")
    target = folder / "salt-road"
    shutil.copytree(sample.parent, target)
    campaign = target / sample.name
    text = campaign.read_text(encoding="utf-8")
    assert text.count('brain = "offline"') == 3
    campaign.write_text(text.replace('brain = "offline"', 'brain = "gemini"'), encoding="utf-8")
    return campaign


def test_build_brains_offers_gemini_only_with_a_key(tmp_path: Path) -> None:
    assert set(build_brains(gemini_settings(tmp_path, None, None))) == {"offline"}
    assert set(build_brains(gemini_settings(tmp_path, None, ""))) == {"offline"}
    settings = gemini_settings(tmp_path, None, KEY)
    assert KEY not in repr(settings) and KEY not in json.dumps(settings.redacted())
    brain = build_brains(settings)["gemini"]
    assert isinstance(brain, GeminiBrain)
    assert brain.url == f"http://127.0.0.1:9/v1beta/models/{MODEL}:generateContent"


async def test_a_turn_through_the_services_records_gemini_provenance(
    fake: FakeGemini, tmp_path: Path
) -> None:
    loaded = load_campaign_file(salt_road_with_gemini_brains(tmp_path))
    fake.script(success(), error(400), success())  # one persona's call is refused
    settings = gemini_settings(tmp_path, fake, KEY)
    async with open_dramatis(settings, clock=FrozenClock()) as app:
        view = await app.campaigns.create(loaded, seed=3)
        assert {p.brain for p in view.personas} == {"gemini"}
        await app.campaigns.start(view.campaign_id)
        result = await app.campaigns.advance(view.campaign_id, turns=2)
        records = await app.store.read_all()
    assert fake.count == 6
    decisions = [r.payload for r in records if r.event_type == "DecisionRecorded"]
    assert len(decisions) == 6
    provenances = [d["decision"]["provenance"] for d in decisions]
    offline = [p for p in provenances if p["source"] == "offline"]
    assert len(offline) == 1 and "HTTP 400" in offline[0]["fallback_reason"]
    for p in provenances:
        assert len(p["prompt_hash"]) == 64
        if p["source"] == "gemini":
            assert p["model"] == MODEL_VERSION
            assert (p["tokens_in"], p["tokens_out"]) == (321, 27)
            assert p["latency_ms"] > 0
    sources = [e.source for ledger in result.ledgers for e in ledger.action_log]
    assert sorted(sources) == ["gemini"] * 5 + ["offline"]
    assert KEY not in json.dumps([r.payload for r in records])


async def test_without_a_key_gemini_personas_play_offline_with_no_network(
    fake: FakeGemini, tmp_path: Path
) -> None:
    loaded = load_campaign_file(salt_road_with_gemini_brains(tmp_path))
    async with open_dramatis(gemini_settings(tmp_path, fake, None), clock=FrozenClock()) as app:
        view = await app.campaigns.create(loaded, seed=3)
        await app.campaigns.start(view.campaign_id)
        result = await app.campaigns.advance(view.campaign_id, turns=3)
        records = await app.store.read_all()
    assert fake.count == 0
    assert {e.source for ledger in result.ledgers for e in ledger.action_log} == {"offline"}
    reasons = {
        r.payload["decision"]["provenance"]["fallback_reason"]
        for r in records
        if r.event_type == "DecisionRecorded"
    }
    assert reasons == {"gemini brain not configured"}


def play_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(["play", *argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_cli_play_with_a_key_makes_real_calls_and_records_gemini(
    fake: FakeGemini,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign = salt_road_with_gemini_brains(tmp_path)
    monkeypatch.setenv("DRAMATIS_GEMINI_API_KEY", KEY)
    monkeypatch.setenv("DRAMATIS_GEMINI_BASE_URL", fake.url)
    monkeypatch.setenv("DRAMATIS_GEMINI_MODEL", MODEL)
    data = play_cli(capsys, str(campaign), "--turns", "10", "--seed", "5")
    assert data["turns"] == 10
    assert {p["brain"] for p in data["personas"]} == {"gemini"}
    sources = [e["source"] for turn in data["ledger"] for e in turn["action_log"]]
    assert sources == ["gemini"] * 30
    assert fake.count == 30
    assert all(r.headers["x-goog-api-key"] == KEY for r in fake.requests)
    stored = Path(data["chronicle_path"]).read_text(encoding="utf-8")
    assert KEY not in stored


def test_cli_play_without_a_key_stays_offline(
    fake: FakeGemini,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign = salt_road_with_gemini_brains(tmp_path)
    monkeypatch.setenv("DRAMATIS_GEMINI_BASE_URL", fake.url)
    monkeypatch.setenv("DRAMATIS_GEMINI_MODEL", MODEL)
    data = play_cli(capsys, str(campaign), "--turns", "4", "--seed", "5")
    sources = {e["source"] for turn in data["ledger"] for e in turn["action_log"]}
    assert sources == {"offline"}
    assert fake.count == 0


async def test_an_unknown_model_is_a_404_and_is_not_retried(
    fake: FakeGemini, context: DecisionContext
) -> None:
    async with make_brain(fake, model="gemini-nonexistent") as brain:
        decision = await brain.decide(context)
    assert_offline(decision, context, "HTTP 404 NOT_FOUND")
    assert fake.count == 1
    assert fake.requests[0].path == "/v1beta/models/gemini-nonexistent:generateContent"

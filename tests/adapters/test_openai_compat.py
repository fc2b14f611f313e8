"""The OpenAI-compatible brain against a fake chat completions server on 127.0.0.1: answers,
retries, the json_object fallback, degradation to the offline policy, and a CLI run whose
personas think with a local model."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_gemini import Reply
from fake_openai import MODEL, FakeOpenAI, chat_error, chat_reply, chat_success

from dramatis.adapters.openai_compat import OpenAICompatBrain
from dramatis.bootstrap import build_brains
from dramatis.cli import main
from dramatis.config import Settings
from dramatis.domain.context import DecisionContext
from dramatis.engine.director import build_context
from dramatis.engine.policy import decide_offline
from dramatis.engine.world import initial_world
from dramatis.sheets.campaign_loader import find_sample, load_campaign_file

KEY = "sk-local-secret-0123456789"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def context() -> DecisionContext:
    loaded = load_campaign_file(find_sample("salt-road"))
    brief = loaded.campaign.world
    ids = [f"p{i}" for i in range(len(loaded.personas))]
    names = {pid: p.sheet.name for pid, p in zip(ids, loaded.personas, strict=True)}
    world = initial_world(brief, ids, 7, names=names)
    return build_context(world, brief, "p0", loaded.personas[0].sheet, names, 7, campaign_id="c")


def make_brain(fake: FakeOpenAI, **overrides: Any) -> OpenAICompatBrain:
    options: dict[str, Any] = {
        "api_key": KEY,
        "model": MODEL,
        "timeout_seconds": 2.0,
        "max_attempts": 3,
        "backoff_base_seconds": 0.001,
        "backoff_max_seconds": 0.005,
        "retry_delay_cap_seconds": 0.5,
    }
    options.update(overrides)
    return OpenAICompatBrain(fake.url, **options)


async def decide(fake: FakeOpenAI, context: DecisionContext, **overrides: Any) -> Any:
    async with make_brain(fake, **overrides) as brain:
        return await brain.decide(context)


async def test_a_good_answer_is_an_openai_decision(
    fake: FakeOpenAI, context: DecisionContext
) -> None:
    fake.script(chat_success({"option": 2, "reasoning": "Better this way."}))
    decision = await decide(fake, context)
    assert fake.count == 1
    assert (decision.action, decision.target) == (
        context.options[1].action,
        context.options[1].target,
    )
    p = decision.provenance
    assert p.source == "openai" and p.fallback_reason is None and p.model == MODEL
    assert (p.tokens_in, p.tokens_out) == (210, 19)
    assert p.prompt_hash == hashlib.sha256(fake.requests[0].body).hexdigest()
    body = fake.requests[0].json
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == MODEL
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["response_format"]["type"] == "json_schema"
    assert KEY not in fake.requests[0].body.decode()


async def test_a_429_is_retried_after_its_retry_after(
    fake: FakeOpenAI, context: DecisionContext
) -> None:
    fake.script(chat_error(429, "slow down", {"retry-after": "0.01"}), chat_success())
    decision = await decide(fake, context)
    assert decision.provenance.source == "openai"
    assert fake.count == 2


async def test_a_500_then_success_is_an_openai_decision(
    fake: FakeOpenAI, context: DecisionContext
) -> None:
    fake.script(chat_error(500), chat_success())
    decision = await decide(fake, context)
    assert decision.provenance.source == "openai"
    assert fake.count == 2


async def test_500_on_every_try_falls_back(fake: FakeOpenAI, context: DecisionContext) -> None:
    fake.script(chat_error(500), chat_error(502), chat_error(503))
    decision = await decide(fake, context)
    assert decision.provenance.source == "offline"
    assert decision.provenance.fallback_reason == "HTTP 503 (gave up after 3 tries)"
    assert fake.count == 3


async def test_invalid_json_falls_back_to_the_offline_policy(
    fake: FakeOpenAI, context: DecisionContext
) -> None:
    fake.script(chat_reply("I think I will wait and see."))
    decision = await decide(fake, context)
    offline = decide_offline(context)
    assert (decision.action, decision.target, decision.reasoning) == (
        offline.action,
        offline.target,
        offline.reasoning,
    )
    p = decision.provenance
    assert p.source == "offline" and p.fallback_reason == "the model's answer is not valid JSON"
    assert (p.tokens_in, p.tokens_out) == (210, 19)
    assert fake.count == 1


async def test_a_server_without_json_schema_is_asked_for_a_json_object(
    fake: FakeOpenAI, context: DecisionContext
) -> None:
    fake.script(chat_error(400, "response_format json_schema is not supported"), chat_success())
    async with make_brain(fake) as brain:
        first = await brain.decide(context)
        second = await brain.decide(context)
    assert first.provenance.source == second.provenance.source == "openai"
    formats = [r.json["response_format"]["type"] for r in fake.requests]
    assert formats == ["json_schema", "json_object", "json_object"]


async def test_a_wrong_key_is_not_retried(fake: FakeOpenAI, context: DecisionContext) -> None:
    decision = await decide(fake, context, api_key="sk-wrong")
    assert decision.provenance.source == "offline"
    assert decision.provenance.fallback_reason == "HTTP 401: invalid api key"
    assert fake.count == 1


async def test_a_garbage_body_falls_back(fake: FakeOpenAI, context: DecisionContext) -> None:
    fake.script(Reply(200, b"<html>oops</html>"))
    decision = await decide(fake, context)
    assert decision.provenance.source == "offline"
    assert "not a JSON object" in (decision.provenance.fallback_reason or "")


def test_build_brains_offers_openai_only_with_a_base_url(tmp_path: Path) -> None:
    assert "openai" not in build_brains(Settings(data_dir=tmp_path))
    settings = Settings(
        data_dir=tmp_path, openai_base_url="http://127.0.0.1:9/v1", openai_api_key=KEY
    )
    brain = build_brains(settings)["openai"]
    assert isinstance(brain, OpenAICompatBrain)
    assert brain.url == "http://127.0.0.1:9/v1/chat/completions"
    assert KEY not in repr(brain) and KEY not in json.dumps(settings.redacted())


def test_cli_play_with_openai_personas_records_openai(
    fake: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = find_sample("salt-road")
    shutil.copytree(sample.parent, tmp_path / "salt-road")
    campaign = tmp_path / "salt-road" / sample.name
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(text.replace('brain = "offline"', 'brain = "openai"'), encoding="utf-8")
    monkeypatch.setenv("DRAMATIS_OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("DRAMATIS_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DRAMATIS_OPENAI_MODEL", MODEL)
    code = main(["play", str(campaign), "--turns", "3", "--seed", "5", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert {p["brain"] for p in data["personas"]} == {"openai"}
    sources = [e["source"] for turn in data["ledger"] for e in turn["action_log"]]
    assert sources == ["openai"] * 9
    assert fake.count == 9

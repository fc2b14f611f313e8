"""Shared fixtures: every test gets its own data directory and no user config file."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["moto_support"]  # the moto_s3 and aws_env fixtures


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point dramatis at a fresh data dir and away from the user's config and keys."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DRAMATIS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DRAMATIS_CONFIG", str(tmp_path / "no-config.toml"))
    for name in (
        "DRAMATIS_DB",
        "DRAMATIS_TENANT",
        "DRAMATIS_ROLE",
        "DRAMATIS_GEMINI_API_KEY",
        "GEMINI_API_KEY",
        "DRAMATIS_OPENAI_BASE_URL",
        "DRAMATIS_OPENAI_API_KEY",
        "DRAMATIS_OPENAI_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    return data_dir

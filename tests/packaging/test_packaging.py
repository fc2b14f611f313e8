"""The wheel must carry every package: pyproject lists them by hand (samples map from the top)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    source = ROOT / "src"
    on_disk = {
        ".".join(init.parent.relative_to(source).parts) for init in source.rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages"
    assert "dramatis.sample_campaigns" in listed
    assert config["tool"]["setuptools"]["package-dir"]["dramatis.sample_campaigns"] == (
        "sample_campaigns"
    )

"""Bad input: every malformed file or argument exits 2 with one clear line, never a traceback.

The corpus (``corpus/``) holds real malformed files: character sheets in each format, campaign
files, config files and theme files, plus argument lists for the command line. Each runs
through ``dramatis.cli.main`` in-process; a handful also run in a subprocess to prove nothing
reaches stderr but the one line. Huge files are made at test time; Hypothesis makes more.
"""

from __future__ import annotations

import contextlib
import io
import json
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import cli_env, spawn_cli

from dramatis.cli import main
from dramatis.tui.theming import load_themes

CORPUS = Path(__file__).parent / "corpus"
SHEETS = sorted(p for p in (CORPUS / "sheets").rglob("*") if p.is_file())
CAMPAIGNS = sorted((CORPUS / "campaigns").glob("*.toml"))
CONFIGS = sorted((CORPUS / "config").glob("*.toml"))
THEMES = sorted((CORPUS / "themes").glob("*.toml"))
ARGS = json.loads((CORPUS / "cli" / "args.json").read_text(encoding="utf-8"))
HUGE = 12 * 1024 * 1024


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(CORPUS)) for path in paths]


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(argv)
    _, err = capsys.readouterr()
    assert status == 2, f"exit {status} for {argv}: {err!r}"
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err
    line = err.strip()
    assert line.startswith("dramatis") and len(line) > 20
    return line


def test_the_corpus_is_big_enough() -> None:
    assert len(SHEETS) + len(CAMPAIGNS) + len(CONFIGS) + len(THEMES) + len(ARGS) >= 100
    formats = {path.parent.name for path in SHEETS}
    assert formats == {"toml", "markdown", "card_v2", "png"}


@pytest.mark.parametrize("path", SHEETS, ids=_ids(SHEETS))
def test_malformed_sheet_import_exits_2(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_exit_2(["personas", "import", str(path)], capsys)
    assert path.name in line


@pytest.mark.parametrize("path", CAMPAIGNS, ids=_ids(CAMPAIGNS))
def test_malformed_campaign_file_exits_2(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_exit_2(["play", str(path), "--offline", "--turns", "1"], capsys)


@pytest.mark.parametrize("path", CONFIGS, ids=_ids(CONFIGS))
def test_malformed_config_file_exits_2(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRAMATIS_CONFIG", str(path))
    line = _one_line_exit_2(["campaigns"], capsys)
    assert "configuration" in line


@pytest.mark.parametrize("argv", ARGS, ids=[" ".join(a) or "(empty)" for a in ARGS])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_exit_2(argv, capsys)


@pytest.mark.parametrize("path", THEMES, ids=_ids(THEMES))
def test_malformed_theme_is_one_problem_line(path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "themes"
    folder.mkdir()
    (folder / path.name).write_bytes(path.read_bytes())
    loaded = load_themes(folder)
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert problem.startswith(path.name) and "\n" not in problem
    assert path.stem not in {theme.name for theme in loaded.themes}


@pytest.mark.parametrize("suffix", [".toml", ".md", ".json", ".png"])
def test_huge_sheet_files_exit_2(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"huge{suffix}"
    path.write_bytes(b"# " + b"x" * HUGE)
    _one_line_exit_2(["personas", "import", str(path)], capsys)


def test_huge_campaign_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.toml"
    path.write_text('name = "Huge"\ndescription = "' + "y" * HUGE + '"\n', encoding="utf-8")
    _one_line_exit_2(["play", str(path), "--offline"], capsys)


SUBPROCESS_CASES = [
    ["personas", "import", str(CORPUS / "sheets" / "card_v2" / "deep_nesting.json")],
    ["personas", "import", str(CORPUS / "sheets" / "toml" / "binary_noise.toml")],
    ["personas", "import", str(CORPUS / "sheets" / "png" / "truncated_chunk.png")],
    ["play", str(CORPUS / "campaigns" / "utf16.toml"), "--offline"],
    ["play", str(CORPUS / "campaigns" / "sheet_is_malformed.toml"), "--offline"],
    ["advance", "no-such-campaign"],
    ["restore", str(CORPUS / "sheets" / "png" / "no_card_chunk.png")],
]


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=[a[-1][-20:] for a in SUBPROCESS_CASES])
def test_in_a_subprocess_only_one_line_reaches_stderr(argv: list[str], tmp_path: Path) -> None:
    proc = spawn_cli(tmp_path / "sub.db", *argv)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("dramatis"), stderr
    assert "Traceback" not in stderr and stdout == ""


def test_a_malformed_config_in_a_subprocess(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "sub.db") | {"DRAMATIS_CONFIG": str(CORPUS / "config" / "utf16.toml")}
    done = subprocess.run(
        [sys.executable, "-m", "dramatis.cli", "campaigns"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


# ---------------------------------------------------------------- generated inputs

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
_TOMLISH = st.lists(
    st.sampled_from(
        [
            "name = ",
            '"Ana"',
            "[decision_weights]",
            "[[personas]]",
            "sheet = ",
            "loyalty = ",
            "turn_limit = ",
            "=",
            "[",
            "]",
            '"',
            "\n",
            "-1",
            "1e999",
            "{",
            "}",
            "personas = []",
            "fallback_policy = ",
            '"../good/ana.toml"',
        ]
    ),
    max_size=40,
).map("".join)
_CONTENT = st.one_of(st.binary(max_size=600), _TEXT.map(str.encode), _TOMLISH.map(str.encode))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=_CONTENT, suffix=st.sampled_from([".toml", ".md", ".json", ".png"]))
def test_generated_sheets_never_crash(
    content: bytes, suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"generated{suffix}"
    path.write_bytes(content)
    status = main(["personas", "import", str(path), "--json"])
    out, err = capsys.readouterr()
    assert status in (0, 2), err
    assert "Traceback" not in err
    if status == 2:
        assert err.count("\n") == 1
    else:
        assert json.loads(out)["persona_id"]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=st.one_of(_TOMLISH, _TEXT))
def test_generated_campaign_files_never_crash(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir(exist_ok=True)
    path = folder / "generated.toml"
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    status = main(["play", str(path), "--offline", "--turns", "1"])
    _, err = capsys.readouterr()
    assert status in (0, 2), err
    assert "Traceback" not in err
    if status == 2:
        assert err.count("\n") == 1


@settings(max_examples=80, deadline=None)
@given(
    argv=st.lists(
        st.one_of(
            st.sampled_from(
                ["show", "advance", "archive", "chronicle", "restore", "backup", "personas"]
            ),
            st.sampled_from(["--turns", "--format", "--to-position", "--to-time", "--json"]),
            st.text(alphabet=string.printable, max_size=12),
        ),
        min_size=1,
        max_size=5,
    ).filter(lambda a: a[0] in {"show", "advance", "archive", "chronicle", "restore"})
)
def test_generated_arguments_never_crash(argv: list[str]) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    assert status in (0, 2), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if status == 2:
        assert err.getvalue().count("\n") == 1

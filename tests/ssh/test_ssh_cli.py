"""``dramatis serve-ssh`` as a user runs it: flags, bad input, a host key kept, a clean stop."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import stat
from pathlib import Path

import pytest
from ssh_support import (
    DEADLINE,
    SshTerminal,
    make_key,
    require_openssh,
    ssh_argv,
    start_server_process,
    write_authorized_keys,
)

from dramatis.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "serve-ssh", "--help")
    assert code == 0
    for flag in ("--host", "--port", "--authorized-keys", "--max-sessions", "--idle-timeout"):
        assert flag in out
    assert "--rate-limit" in out


def test_a_missing_authorized_keys_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], isolated_environment: Path
) -> None:
    code, _, err = run(capsys, "serve-ssh", "--port", "0")
    assert code == 2
    assert err.count("\n") == 1
    assert f"no authorized keys file at {isolated_environment / 'authorized_keys'}" in err


def test_an_unparseable_authorized_keys_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "keys"
    path.write_text("# players\nssh-ed25519 this-is-not-a-key ana\n")
    code, _, err = run(capsys, "serve-ssh", "--port", "0", "--authorized-keys", str(path))
    assert code == 2
    assert err.count("\n") == 1 and "line 2: no public key" in err


@pytest.mark.parametrize(
    "argv",
    [["--port", "http"], ["--port", "70000"], ["--max-sessions", "0"], ["--rate-limit", "0"]],
)
def test_bad_flags_are_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, "serve-ssh", *argv)
    assert code == 2 and err.count("\n") == 1


def test_a_port_in_use_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "serve-ssh", "--port", str(port), "--authorized-keys", str(keys))
    assert code == 2
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err


async def test_serve_ssh_runs_sessions_and_stops_cleanly_on_sigterm(
    tmp_path: Path, isolated_environment: Path
) -> None:
    require_openssh()
    key = make_key(tmp_path / "client", "ana")
    keys = tmp_path / "authorized_keys"
    write_authorized_keys(keys, [key.authorized_line(DRAMATIS_PLAYER="ana")])
    server, port, banner = await start_server_process(keys)
    terminal = SshTerminal(ssh_argv(key.private, port))
    try:
        assert f"ssh -t -p {port} 127.0.0.1" in "".join(banner)
        await terminal.wait_for("Samples")
        server.send_signal(signal.SIGTERM)
        await terminal.wait_for("the server is shutting down")
        assert await terminal.wait_exit() != 0
        assert await asyncio.wait_for(server.wait(), DEADLINE) == 0
    finally:
        terminal.close()
        if server.returncode is None:
            server.kill()
            await server.wait()
    assert server.stdout is not None and server.stderr is not None
    assert "stopped" in (await server.stdout.read()).decode()
    log = (await server.stderr.read()).decode()
    assert re.search(r"connect player=ana tenant=default role=viewer session=[\w.]+ peer=", log)
    assert "disconnect player=ana" in log and "reason=server shutdown" in log

    # The host key was made once, private, and is used again on the next start.
    host_key = isolated_environment / "ssh_host_ed25519_key"
    assert stat.S_IMODE(host_key.stat().st_mode) == 0o600
    fingerprint = next(line for line in banner if "host key" in line).split()[2]
    again, _, banner_again = await start_server_process(keys)
    again.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(again.wait(), DEADLINE) == 0
    assert fingerprint in "".join(banner_again)

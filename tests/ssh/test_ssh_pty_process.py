"""The app process on its PTY: stopping escalates, and the session-end hook is safe."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ssh_support import pid_alive, wait_until

from dramatis.config import Settings
from dramatis.ssh.hooks import leave_table_hook
from dramatis.ssh.identity import Identity
from dramatis.ssh.pty_process import PtyProcess, exit_status
from dramatis.ssh.session import SessionInfo

STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


async def test_an_app_that_ignores_hangup_and_term_is_killed() -> None:
    output = bytearray()
    process = await PtyProcess.spawn([sys.executable, "-c", STUBBORN], {}, (80, 24, 0, 0))
    process.start_reading(output.extend)
    await wait_until(lambda: b"ready" in output, "the app to start")
    returncode = await process.stop(grace=0.3)
    process.close()
    assert exit_status(returncode) == 128 + 9
    assert not pid_alive(process.pid)


async def test_the_app_sees_its_terminal_size_and_resizes() -> None:
    output = bytearray()
    argv = [sys.executable, "-m", "dramatis.ssh.child", "ssh_support:winch_probe"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = await PtyProcess.spawn(argv, env, (100, 30, 0, 0))
    process.start_reading(output.extend)
    await wait_until(lambda: b"columns=100, lines=30" in output, "the first size")
    process.resize((90, 25, 0, 0))  # the kernel tells the app with SIGWINCH
    await wait_until(lambda: b"columns=90, lines=25" in output, "the new size")
    process.write(b"\r")
    assert await process.wait() == 0
    process.close()


async def test_the_default_hook_runs_without_a_table_service(isolated_environment: Path) -> None:
    hook = leave_table_hook(Settings())
    info = SessionInfo(
        session_id="abc",
        identity=Identity(player="ana", tenant="acme", role="player", fingerprint="SHA256:x"),
        peer="127.0.0.1:1",
    )
    await hook(info)  # opens the services for the tenant; no table service yet: nothing to do

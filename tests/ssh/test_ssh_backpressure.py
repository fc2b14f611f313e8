"""A client that stops reading stalls only its own app; everyone else keeps going."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncssh
from ssh_support import StartHost, wait_until, wait_until_async, write_authorized_keys

# An app that writes as fast as its terminal lets it.
FLOOD = [sys.executable, "-c", "import os\nwhile True: os.write(1, b'x' * 4096)"]


class _Counter(asyncssh.SSHClientSession[bytes]):
    def __init__(self) -> None:
        self.received = 0

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self.received += len(data)


def _written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/PID/io")


async def test_a_frozen_client_stalls_only_its_own_app(start_host: StartHost) -> None:
    host = await start_host(app_command=FLOOD)
    frozen_key, live_key = host.key("frozen"), host.key("live")
    write_authorized_keys(
        host.authorized_keys,
        [frozen_key.authorized_line(DRAMATIS_PLAYER="frozen"), live_key.authorized_line()],
    )

    async def open_session(
        key_path: Path,
    ) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientChannel[bytes], _Counter]:
        conn = await asyncssh.connect(
            "127.0.0.1",
            host.port,
            username="p",
            client_keys=[str(key_path)],
            known_hosts=None,
            agent_path=None,
            config=None,
        )
        chan, session = await conn.create_session(
            _Counter, term_type="xterm", term_size=(80, 24), encoding=None
        )
        return conn, chan, session

    frozen_conn, frozen_chan, _ = await open_session(frozen_key.private)
    frozen_chan.pause_reading()  # stop reading: no more window for the server to send into
    live_conn, _, live = await open_session(live_key.private)
    try:
        await wait_until(lambda: len(host.server.sessions) == 2, "both sessions")
        frozen_pid = next(s.pid for s in host.server.sessions if s.player == "frozen")
        assert frozen_pid is not None
        await wait_until(lambda: _written(frozen_pid) > 0, "the frozen app to start writing")

        # The frozen client's app soon blocks on its terminal: its output stops growing...
        last = {"written": -1}

        async def stalled() -> bool:
            before = _written(frozen_pid)
            await asyncio.sleep(0.5)
            after = _written(frozen_pid)
            stuck = before == after == last["written"]
            last["written"] = after
            return stuck

        await wait_until_async(stalled, "the frozen client's app to stall")
        # ...and stays bounded (the SSH window plus the high-water mark), while the live
        # client keeps receiving.
        assert _written(frozen_pid) < 8 * 1024 * 1024
        received = live.received
        await wait_until(lambda: live.received > received + 1_000_000, "the live client's data")

        # Reading again lets the frozen app go on.
        frozen_chan.resume_reading()
        stuck_at = _written(frozen_pid)
        await wait_until(lambda: _written(frozen_pid) > stuck_at, "the frozen app to resume")
    finally:
        frozen_conn.close()
        live_conn.close()
    await wait_until(lambda: len(host.ended) == 2, "both sessions to end")

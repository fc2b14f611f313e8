"""One app process on a server-side PTY: spawn, read and write it, resize, stop, reap.

Everything here is non-blocking: the PTY master is read with ``loop.add_reader`` (and reading
can be paused, so a slow client stalls only its own process), input goes out through a small
bounded buffer, and stopping escalates SIGHUP, SIGTERM, SIGKILL on the process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import sys
import termios
from collections.abc import Callable, Mapping, Sequence

from dramatis.ssh.child import DEFAULT_TARGET

MAX_PENDING_INPUT = 64 * 1024  # input the app has not read yet; more is dropped
READ_CHUNK = 64 * 1024


def default_app_command() -> list[str]:
    """The command each session runs: the dramatis TUI, as the PTY's session leader."""
    return [sys.executable, "-m", "dramatis.ssh.child", DEFAULT_TARGET]


def exit_status(returncode: int) -> int:
    """A shell-style exit status: 128 + N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


class PtyProcess:
    """A child process whose stdin, stdout and stderr are the slave side of a new PTY."""

    def __init__(self, process: asyncio.subprocess.Process, master_fd: int) -> None:
        self._process = process
        self._master = master_fd
        self._loop = asyncio.get_running_loop()
        self._on_output: Callable[[bytes], None] | None = None
        self._reading = False
        self._eof = asyncio.Event()
        self._pending = bytearray()
        self._writer_added = False
        self.dropped_input = 0

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        env: Mapping[str, str],
        size: tuple[int, int, int, int],
    ) -> PtyProcess:
        """Start ``argv`` on a new PTY of ``size`` (columns, rows, pixel width, pixel height)."""
        master, slave = os.openpty()
        try:
            set_window_size(slave, size)
            os.set_blocking(master, False)
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                start_new_session=True,  # its own session and process group
                close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        return cls(process, master)

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    # ------------------------------------------------------------------ output

    def start_reading(self, on_output: Callable[[bytes], None]) -> None:
        """Deliver the app's output to ``on_output`` as it comes."""
        self._on_output = on_output
        self.resume_reading()

    def pause_reading(self) -> None:
        """Stop reading the PTY: once its buffer fills, the app blocks on its next write."""
        if self._reading:
            self._loop.remove_reader(self._master)
            self._reading = False

    def resume_reading(self) -> None:
        if not self._reading and not self._eof.is_set() and self._master >= 0:
            self._loop.add_reader(self._master, self._read_ready)
            self._reading = True

    def _read_ready(self) -> None:
        try:
            data = os.read(self._master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave descriptor is closed (the app is gone)
            data = b""
        if not data:
            self.pause_reading()
            self._eof.set()
            return
        if self._on_output is not None:
            self._on_output(data)

    async def wait_output_closed(self, timeout: float) -> bool:
        """Wait (up to ``timeout``) until all the app's output has been read."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._eof.wait(), timeout)
        return self._eof.is_set()

    # ------------------------------------------------------------------ input

    def write(self, data: bytes) -> None:
        """Send input to the app; what does not fit the bounded buffer is dropped."""
        if not data or self._master < 0:
            return
        room = MAX_PENDING_INPUT - len(self._pending)
        if len(data) > room:
            self.dropped_input += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        self._pending += data
        self._flush_input()

    def _flush_input(self) -> None:
        while self._pending and self._master >= 0:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EBADF):
                    raise
                self._pending.clear()
                break
            del self._pending[:written]
        wants_writer = bool(self._pending) and self._master >= 0
        if wants_writer and not self._writer_added:
            self._loop.add_writer(self._master, self._flush_input)
            self._writer_added = True
        elif not wants_writer and self._writer_added:
            self._loop.remove_writer(self._master)
            self._writer_added = False

    # ------------------------------------------------------------------ control

    def resize(self, size: tuple[int, int, int, int]) -> None:
        """Set the PTY's window size; the kernel sends the app SIGWINCH."""
        if self._master >= 0:
            with contextlib.suppress(OSError):
                set_window_size(self._master, size)

    def signal_group(self, signum: int) -> bool:
        """Send ``signum`` to the app's process group while the app has not been reaped."""
        if self._process.returncode is not None:
            return False
        try:
            os.killpg(self._process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    async def wait(self) -> int:
        """The app's return code, once it has exited and been reaped."""
        return await self._process.wait()

    async def stop(self, grace: float) -> int:
        """End the app: SIGHUP, then SIGTERM, then SIGKILL, ``grace`` seconds apart at most."""
        for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
            if not self.signal_group(signum):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._process.wait()), grace)
                break
        return await self._process.wait()

    def close(self) -> None:
        """Release the PTY (after the app has exited)."""
        self.pause_reading()
        if self._writer_added:
            self._loop.remove_writer(self._master)
            self._writer_added = False
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        self._eof.set()


def set_window_size(fd: int, size: tuple[int, int, int, int]) -> None:
    """TIOCSWINSZ: ``size`` is (columns, rows, pixel width, pixel height)."""
    columns, rows, width, height = size
    packed = struct.pack("HHHH", max(rows, 1), max(columns, 1), width, height)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, packed)

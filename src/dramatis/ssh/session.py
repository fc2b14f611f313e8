"""One SSH session: a terminal channel bridged to its own app process on a PTY."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import asyncssh

from dramatis.ssh.identity import Identity
from dramatis.ssh.pty_process import PtyProcess, exit_status
from dramatis.ssh.ratelimit import InputLimiter

if TYPE_CHECKING:
    from dramatis.ssh.server import SessionSettings

logger = logging.getLogger("dramatis.ssh")

DEFAULT_TERM = "xterm-256color"
# Put the client's terminal back the way the app found it when the app could not do it itself
# (it was stopped): main screen, no mouse or paste reporting, cursor shown, plain colours.
TERMINAL_RESET = (
    b"\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
    b"\x1b[?1004l\x1b[?2004l\x1b[<u\x1b[?25h\x1b[0m\r\n"
)
NEEDS_TERMINAL = "dramatis needs a terminal: connect with ssh -t"
NO_COMMANDS = "dramatis runs no commands over SSH: connect with ssh -t and no command"


@dataclass
class SessionInfo:
    """What the session-end hook and the logs know about a session."""

    session_id: str
    identity: Identity
    peer: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pid: int | None = None
    exit_status: int | None = None
    reason: str = ""

    @property
    def player(self) -> str:
        return self.identity.player

    @property
    def tenant(self) -> str:
        return self.identity.tenant

    @property
    def role(self) -> str:
        return self.identity.role


SessionEndHook = Callable[[SessionInfo], Awaitable[None]]


class SessionHost(Protocol):
    """What a session needs from the server that owns it."""

    settings: SessionSettings
    app_command: Sequence[str]
    host_tag: str

    def reserve(self, session: AppSession) -> bool: ...

    def release(self, session: AppSession) -> None: ...

    def app_environment(self, info: SessionInfo, term: str) -> Mapping[str, str]: ...

    async def session_ended(self, info: SessionInfo) -> None: ...


def new_session_id(host_tag: str = "") -> str:
    """A short random id, unique enough to tell concurrent sessions apart, after the tag of
    the host that runs it (so a restarted host can tell its earlier sessions: ``tag.random``)."""
    random = secrets.token_hex(8)
    return f"{host_tag}.{random}" if host_tag else random


class AppSession(asyncssh.SSHServerSession[bytes]):
    """Bridges one channel and one app process, with the idle timeout and the rate limit."""

    def __init__(self, host: SessionHost, identity: Identity, peer: str) -> None:
        self._host = host
        session_id = new_session_id(host.host_tag)
        self.info = SessionInfo(session_id=session_id, identity=identity, peer=peer)
        settings = host.settings
        self._limiter = InputLimiter(settings.keys_per_second, settings.key_burst)
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None
        self._term: str | None = None
        self._size = (80, 24, 0, 0)
        self._refusal: str | None = None
        self._process: PtyProcess | None = None
        self._task: asyncio.Task[None] | None = None
        self._channel_open = True
        self._notice: str | None = None  # why the server ends the session, shown to the client
        self._stopping: asyncio.Task[int] | None = None
        self._finished = False
        self._last_input = time.monotonic()
        self._idle_handle: asyncio.TimerHandle | None = None
        self.done = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------------ asyncssh callbacks

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:  # type: ignore[override]
        self._chan = chan
        chan.set_write_buffer_limits(high=self._host.settings.write_high_water)

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Mapping[int, int]
    ) -> bool:
        self._term = term_type or DEFAULT_TERM
        if term_size[0] and term_size[1]:
            self._size = term_size
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self._refusal = NO_COMMANDS  # accepted only to say so, then closed
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        if self._refusal is None and self._term is None:
            self._refusal = NEEDS_TERMINAL
        if self._refusal is not None:
            self._say_and_exit(self._refusal, 1)
            return
        if not self._host.reserve(self):
            limit = self._host.settings.max_sessions
            self._say_and_exit(f"the server is full ({limit} sessions); try again later", 1)
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if self._process is None or self._notice is not None or datatype is not None:
            return
        self._last_input = time.monotonic()
        self._process.write(self._limiter.filter(data))

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if width and height:
            self._size = (width, height, pixwidth, pixheight)
            if self._process is not None:
                self._process.resize(self._size)

    def eof_received(self) -> bool:
        return False  # the client's input ended: close the channel, which ends the app

    def pause_writing(self) -> None:
        if self._process is not None:
            self._process.pause_reading()

    def resume_writing(self) -> None:
        if self._process is not None:
            self._process.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._channel_open = False
        if self._process is not None:
            self._begin_stop("client disconnected")
        elif self._task is None and not self.done.done():
            self.done.set_result(None)

    # ------------------------------------------------------------------ the session

    async def _run(self) -> None:
        info = self.info
        try:
            env = self._host.app_environment(info, self._term or DEFAULT_TERM)
            try:
                self._process = await PtyProcess.spawn(self._host.app_command, env, self._size)
            except OSError as exc:
                logger.error("session %s: cannot start the app: %s", info.session_id, exc)
                self._say_and_exit("dramatis could not start; try again later", 1)
                return
            info.pid = self._process.pid
            self._log("connect", f"pid={info.pid}")
            await self._bridge(self._process)
        except Exception:
            logger.exception("session %s failed", info.session_id)
            info.reason = info.reason or "server error"
            self.close("the session failed on the server; please reconnect", "server error")
        finally:
            if self._idle_handle is not None:
                self._idle_handle.cancel()
            process = self._process
            if process is not None:
                if process.returncode is None:  # only after an error: never leave it running
                    info.exit_status = exit_status(
                        await process.stop(self._host.settings.stop_grace_seconds)
                    )
                process.close()
                self._finish_channel()
            self._host.release(self)
            if process is not None:
                seconds = (datetime.now(UTC) - info.started_at).total_seconds()
                self._log(
                    "disconnect",
                    f"status={info.exit_status} reason={info.reason or 'app exited'} "
                    f"seconds={seconds:.1f} dropped_keys={self._limiter.dropped}",
                )
                await self._host.session_ended(info)  # exactly once, after the app exited
            if not self.done.done():
                self.done.set_result(None)

    async def _bridge(self, process: PtyProcess) -> None:
        """Pass bytes both ways until the app exits, then pass on its last output."""
        process.start_reading(self._forward_output)
        if not self._channel_open:  # the client left while the app was starting
            self._begin_stop("client disconnected")
        elif self._notice is not None:  # the server closed it meanwhile
            self._begin_stop(self.info.reason or "closed by the server")
        self._arm_idle_timer()
        self.info.exit_status = exit_status(await process.wait())
        if self._channel_open and self._notice is None:
            await process.wait_output_closed(timeout=self._host.settings.drain_seconds)
        self.info.reason = self.info.reason or "app exited"

    def _log(self, event: str, extra: str) -> None:
        info = self.info
        logger.info(
            "%s player=%s tenant=%s role=%s session=%s peer=%s %s",
            event,
            info.player,
            info.tenant,
            info.role,
            info.session_id,
            info.peer,
            extra,
        )

    def _forward_output(self, data: bytes) -> None:
        if self._chan is not None and self._channel_open and self._notice is None:
            self._chan.write(data)

    def _finish_channel(self) -> None:
        """Close the channel with the app's exit status (and the server's notice, if any)."""
        chan = self._chan
        if chan is None or not self._channel_open or self._finished:
            return
        self._finished = True
        status = self.info.exit_status or 0
        with contextlib.suppress(OSError, asyncssh.Error):
            if self._notice is not None:
                chan.write(TERMINAL_RESET + self._notice.encode() + b"\r\n")
                status = status if status < 128 else 1
            chan.exit(status)

    def _say_and_exit(self, message: str, status: int) -> None:
        if self._chan is not None and self._channel_open:
            self._chan.write(message.encode() + b"\r\n")
            self._chan.exit(status)
        if self._task is None and not self.done.done():
            self.done.set_result(None)

    def _begin_stop(self, reason: str) -> None:
        if self._stopping is None and self._process is not None:
            self.info.reason = self.info.reason or reason
            grace = self._host.settings.stop_grace_seconds
            self._stopping = asyncio.get_running_loop().create_task(self._process.stop(grace))

    def close(self, notice: str, reason: str) -> None:
        """End the session from the server's side, telling the client why."""
        if self._notice is None:
            self._notice = notice
            self.info.reason = self.info.reason or reason
        if self._process is not None:
            self._begin_stop(reason)
        elif self._task is None and self._chan is not None and self._channel_open:
            self._say_and_exit(notice, 1)

    # ------------------------------------------------------------------ idle timeout

    def _arm_idle_timer(self) -> None:
        timeout = self._host.settings.idle_timeout
        if timeout <= 0:
            return
        delay = self._last_input + timeout - time.monotonic()
        self._idle_handle = asyncio.get_running_loop().call_later(
            max(delay, 0.05), self._check_idle
        )

    def _check_idle(self) -> None:
        timeout = self._host.settings.idle_timeout
        if time.monotonic() - self._last_input >= timeout:
            minutes = f"{timeout / 60:.0f} minutes" if timeout >= 120 else f"{timeout:.0f} seconds"
            self.close(f"no input for {minutes}; the session is closed", "idle")
        else:
            self._arm_idle_timer()

"""The SSH host: public-key logins mapped to players, one app process per session."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

import asyncssh

from dramatis.ssh.authorized_keys import AuthorizedKeys
from dramatis.ssh.host_key import host_tag
from dramatis.ssh.identity import IDENTITY_VARS, Identity
from dramatis.ssh.pty_process import default_app_command
from dramatis.ssh.session import AppSession, SessionEndHook, SessionInfo

logger = logging.getLogger("dramatis.ssh")

SESSION_VAR = "DRAMATIS_SESSION"
# Never inherited from the server's environment: the session sets them, or they would lie
# about the terminal (COLUMNS/LINES override the PTY's size in some libraries).
_NOT_INHERITED = (*IDENTITY_VARS, SESSION_VAR, "TERM", "COLORTERM", "COLUMNS", "LINES")


@dataclass(frozen=True)
class SessionSettings:
    """Limits and timings that apply to every session."""

    max_sessions: int = 20
    idle_timeout: float = 1800.0  # seconds without input; 0 turns it off
    keys_per_second: float = 60.0
    key_burst: float = 200.0
    write_high_water: int = 128 * 1024  # stop reading the app above this much unsent output
    stop_grace_seconds: float = 3.0  # between SIGHUP, SIGTERM and SIGKILL
    drain_seconds: float = 2.0  # to pass on an exited app's last output
    login_timeout: float = 30.0
    keepalive_seconds: float = 30.0  # a client silent for 3 of these is dropped


class _Gate(asyncssh.SSHServer):
    """One connection's authentication: public keys listed in the authorized-keys file."""

    def __init__(self, host: SSHHost) -> None:
        self._host = host
        self._conn: asyncssh.SSHServerConnection | None = None
        self._peer_addr = ""
        self.peer = "?"
        self.identity: Identity | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self._peer_addr = str(peer[0])
        self.peer = f"{peer[0]}:{peer[1]}"
        self._host._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._host._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # every connection must authenticate

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        identity = self._host.authorized_keys.match(key, self._peer_addr, self._peer_addr)
        if identity is None:
            logger.info("refused key %s from %s", key.get_fingerprint("sha256"), self.peer)
            return False
        # The client signs with the last key that validated, so this is the one logged in.
        self.identity = identity
        return True

    def session_requested(self) -> AppSession | bool:
        if self.identity is None:
            return False
        return self._host._new_session(self.identity, self.peer)


class SSHHost:
    """Listens for SSH clients and runs one dramatis app process per terminal session.

    ``on_session_end`` is awaited exactly once for every session whose app process ran, after
    that process has exited; its errors are logged and never reach the server.
    """

    def __init__(
        self,
        authorized_keys: AuthorizedKeys,
        host_key: asyncssh.SSHKey,
        *,
        host: str = "127.0.0.1",
        port: int = 2222,
        settings: SessionSettings | None = None,
        on_session_end: SessionEndHook | None = None,
        app_command: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.authorized_keys = authorized_keys
        self.host_key = host_key
        self.host_tag = host_tag(host_key)  # prefix of this host's session ids
        self.host = host
        self.requested_port = port
        self.settings = settings or SessionSettings()
        self.on_session_end = on_session_end
        self.app_command: Sequence[str] = list(app_command or default_app_command())
        self._environment = environment
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._sessions: set[AppSession] = set()  # every open session channel
        self._running: set[AppSession] = set()  # those holding one of max_sessions slots
        self._connections: set[asyncssh.SSHServerConnection] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start listening; OSError when the address cannot be bound (e.g. in use)."""
        self._acceptor = await asyncssh.create_server(
            lambda: _Gate(self),
            self.host,
            self.requested_port,
            server_host_keys=[self.host_key],
            encoding=None,
            line_editor=False,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            public_key_auth=True,
            password_auth=False,
            kbdint_auth=False,
            host_based_auth=False,
            gss_host=None,
            login_timeout=self.settings.login_timeout,
            keepalive_interval=self.settings.keepalive_seconds,
            keepalive_count_max=3,
        )

    @property
    def port(self) -> int:
        """The port listened on (the real one when asked for port 0)."""
        if self._acceptor is None:
            raise RuntimeError("the SSH host is not started")
        return self._acceptor.get_port()

    @property
    def sessions(self) -> list[SessionInfo]:
        """The sessions whose app process is running (or starting)."""
        return [session.info for session in self._running]

    async def close(self, notice: str = "the server is shutting down") -> None:
        """Stop listening, end every session (telling its client why) and wait for them."""
        if self._acceptor is not None:
            self._acceptor.close()
        sessions = list(self._sessions)
        for session in sessions:
            session.close(notice, "server shutdown")
        if sessions:
            settings = self.settings
            budget = 3 * settings.stop_grace_seconds + settings.drain_seconds + 10
            _, pending = await asyncio.wait([s.done for s in sessions], timeout=budget)
            if pending:
                logger.error("%d sessions did not end in %.0f s", len(pending), budget)
        for conn in list(self._connections):
            conn.close()
        if self._acceptor is not None:
            await self._acceptor.wait_closed()
            self._acceptor = None

    async def __aenter__(self) -> SSHHost:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ for the sessions

    def _new_session(self, identity: Identity, peer: str) -> AppSession:
        session = AppSession(self, identity, peer)
        self._sessions.add(session)
        session.done.add_done_callback(lambda _: self._sessions.discard(session))
        return session

    def reserve(self, session: AppSession) -> bool:
        """Take a session slot; False when all ``max_sessions`` are in use."""
        if len(self._running) >= self.settings.max_sessions:
            info = session.info
            logger.info(
                "full: refused player=%s tenant=%s peer=%s (%d sessions)",
                info.player,
                info.tenant,
                info.peer,
                len(self._running),
            )
            return False
        self._running.add(session)
        return True

    def release(self, session: AppSession) -> None:
        self._running.discard(session)

    def app_environment(self, info: SessionInfo, term: str) -> dict[str, str]:
        """The app process's environment: the server's, plus who the session is."""
        base = os.environ if self._environment is None else self._environment
        env = {name: value for name, value in base.items() if name not in _NOT_INHERITED}
        env.update(info.identity.environment())
        env[SESSION_VAR] = info.session_id
        env["TERM"] = term
        env["COLORTERM"] = "truecolor"
        return env

    async def session_ended(self, info: SessionInfo) -> None:
        """Run the session-end hook; its failures are logged, never raised."""
        if self.on_session_end is None:
            return
        try:
            await self.on_session_end(info)
        except Exception:
            logger.exception("session-end hook failed for session %s", info.session_id)

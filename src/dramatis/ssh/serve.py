"""``dramatis serve-ssh``: start the SSH host, say how to connect, run until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TextIO

import asyncssh

from dramatis.config import Settings
from dramatis.services.errors import BadRequest
from dramatis.ssh.authorized_keys import AuthorizedKeys, AuthorizedKeysError
from dramatis.ssh.hooks import leave_table_hook, release_earlier_sessions
from dramatis.ssh.host_key import HOST_KEY_NAME, HostKeyError, load_or_create_host_key
from dramatis.ssh.server import SessionSettings, SSHHost

AUTHORIZED_KEYS_NAME = "authorized_keys"
DEFAULT_RATE = 60.0
DEFAULT_BURST = 200.0


def default_authorized_keys(settings: Settings) -> Path:
    """``<data_dir>/authorized_keys``."""
    return settings.data_dir / AUTHORIZED_KEYS_NAME


def session_settings(
    *, max_sessions: int = 20, idle_timeout: float = 1800.0, rate_limit: float = DEFAULT_RATE
) -> SessionSettings:
    """Session limits from the command's flags; the burst scales with the rate (200 at 60/s)."""
    burst = max(1.0, rate_limit * DEFAULT_BURST / DEFAULT_RATE)
    return SessionSettings(
        max_sessions=max_sessions,
        idle_timeout=idle_timeout,
        keys_per_second=rate_limit,
        key_burst=burst,
    )


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is logged."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the handler always writes to the current ``sys.stderr``."""


def configure_logging() -> None:
    """One line per event of the ``dramatis.ssh`` logger on stderr."""
    logger = logging.getLogger("dramatis.ssh")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s dramatis.ssh %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logging.getLogger("asyncssh").setLevel(logging.WARNING)


async def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 2222,
    authorized_keys: Path | None = None,
    limits: SessionSettings | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the SSH host until SIGINT or SIGTERM; BadRequest for input the user must fix."""
    out = out or sys.stdout
    configure_logging()
    keys_path = Path(authorized_keys).expanduser() if authorized_keys else None
    keys = AuthorizedKeys(keys_path or default_authorized_keys(settings), settings.tenant)
    try:
        count = keys.load()
    except AuthorizedKeysError as exc:
        raise BadRequest(str(exc)) from None
    key_path = settings.data_dir / HOST_KEY_NAME
    new_key = not key_path.exists()
    try:
        host_key = load_or_create_host_key(key_path)
    except HostKeyError as exc:
        raise BadRequest(str(exc)) from None
    server = SSHHost(
        keys,
        host_key,
        host=host,
        port=port,
        settings=limits,
        on_session_end=leave_table_hook(settings),
    )
    tenants = [settings.tenant, *(entry.identity.tenant for entry in keys.entries())]
    cleared = await release_earlier_sessions(settings, tenants, server.host_tag)
    if cleared:
        logging.getLogger("dramatis.ssh").info(
            "released the seats of earlier sessions at %d tables", cleared
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:  # before the banner: once it shows, a signal stops it cleanly
        loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await server.start()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise BadRequest(f"cannot listen on {host}:{port}: {reason}") from None
        _print_banner(out, server, host, keys, host_key, key_path, new_key, count)
        try:
            await stop.wait()
        finally:
            running = len(server.sessions)
            logging.getLogger("dramatis.ssh").info("stopping: closing %d sessions", running)
            await server.close()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
    print("dramatis serve-ssh: stopped", file=out, flush=True)
    return 0


def _print_banner(
    out: TextIO,
    server: SSHHost,
    host: str,
    keys: AuthorizedKeys,
    host_key: asyncssh.SSHKey,
    key_path: Path,
    new_key: bool,
    count: int,
) -> None:
    where = host if host not in ("", "0.0.0.0", "::") else "THIS-HOST"
    made = "made now, kept in" if new_key else "from"
    print(f"dramatis serve-ssh: listening on {host or '*'}:{server.port}", file=out)
    print(f"  host key   {host_key.get_fingerprint('sha256')}  ({made} {key_path})", file=out)
    print(f"  players    {keys.path} ({count} keys; edits apply without a restart)", file=out)
    print(f"  connect    ssh -t -p {server.port} {where}", file=out)
    print("Stop with ctrl+c (or SIGTERM); sessions are closed cleanly.", file=out, flush=True)

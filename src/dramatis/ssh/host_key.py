"""The server's host key: an ed25519 key made once and kept in the data directory."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

import asyncssh

logger = logging.getLogger("dramatis.ssh")

HOST_KEY_NAME = "ssh_host_ed25519_key"


class HostKeyError(ValueError):
    """The host key file exists but cannot be read as a private key."""


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The private key at ``path``; a new ed25519 key (mode 0600, plus ``.pub``) if none."""
    path = Path(path)
    if not path.exists():
        return _create(path)
    try:
        key = asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        raise HostKeyError(f"cannot read the SSH host key {path}: {exc}") from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("host key %s is readable by others (mode %o); chmod 600 it", path, mode)
    return key


def _create(path: Path) -> asyncssh.SSHKey:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="dramatis host key")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server made it just now: use that one
        return asyncssh.read_private_key(path)
    except OSError as exc:
        raise HostKeyError(f"cannot create the SSH host key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key("openssh"))
    path.with_name(path.name + ".pub").write_bytes(key.export_public_key("openssh"))
    return key


def host_tag(key: asyncssh.SSHKey) -> str:
    """A short stable name for the host that holds ``key``; its session ids start with it."""
    return hashlib.sha256(key.public_data).hexdigest()[:8]

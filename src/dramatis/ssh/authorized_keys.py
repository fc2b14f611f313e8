"""The authorized-keys file: OpenSSH's format, read again whenever it changes.

Each line is ``[options] keytype base64 [comment]``. The ``environment="NAME=value"`` options
DRAMATIS_PLAYER, DRAMATIS_TENANT and DRAMATIS_ROLE say who the key is; ``from="..."`` limits
where it may connect from (checked by asyncssh). Other environment names are ignored.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from dramatis.ssh.identity import IDENTITY_VARS, Identity, IdentityError, identity_from_options

logger = logging.getLogger("dramatis.ssh")


class AuthorizedKeysError(ValueError):
    """The authorized-keys file cannot be read or has a line that is not valid."""


@dataclass(frozen=True)
class KeyEntry:
    """One line of the file: the key, its identity and asyncssh's view of its options."""

    line_number: int
    key: asyncssh.SSHKey
    identity: Identity
    rules: asyncssh.SSHAuthorizedKeys  # this line alone, to check from="..." at login


def split_options(line: str) -> tuple[list[tuple[str, str | None]], str]:
    """The leading options of an authorized-keys line and the rest (key and comment).

    Options are comma-separated ``name`` or ``name="value"``; a backslash escapes the next
    character and double quotes may hold commas and spaces, as in sshd(8).
    """
    options: list[tuple[str, str | None]] = []
    current, quoted, escaped, end = "", False, False, len(line)
    for index, char in enumerate(line):
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif quoted:
            current += char
        elif char in " \t":
            end = index
            break
        elif char == ",":
            options.append(_option(current))
            current = ""
        else:
            current += char
    if quoted or escaped:
        raise AuthorizedKeysError("unbalanced quote or backslash in the options")
    options.append(_option(current))
    return options, line[end:].strip()


def _option(text: str) -> tuple[str, str | None]:
    if not text or text.startswith("="):
        raise AuthorizedKeysError("an option without a name")
    name, sep, value = text.partition("=")
    return name.lower(), value if sep else None


def parse_line(line: str, line_number: int, default_tenant: str) -> KeyEntry:
    """One authorized-keys line as a KeyEntry; AuthorizedKeysError says what is wrong."""
    try:
        key = asyncssh.import_public_key(line)
        options: list[tuple[str, str | None]] = []
    except (asyncssh.KeyImportError, ValueError):
        options, rest = split_options(line)
        try:
            key = asyncssh.import_public_key(rest)
        except (asyncssh.KeyImportError, ValueError):
            raise AuthorizedKeysError(
                "no public key (expected e.g. 'ssh-ed25519 AAAA...')"
            ) from None
    if any(name == "cert-authority" for name, _ in options):
        raise AuthorizedKeysError("cert-authority lines are not supported")
    env: dict[str, str] = {}
    for name, value in options:
        if name != "environment":
            continue
        var, sep, setting = (value or "").partition("=")
        if not sep or not var:
            raise AuthorizedKeysError(f'environment="{value}" is not NAME=value')
        if var in IDENTITY_VARS:
            env[var] = setting
        else:
            logger.warning("authorized keys line %d: %s is ignored", line_number, var)
    try:
        rules = asyncssh.import_authorized_keys(line)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise AuthorizedKeysError(str(exc)) from None
    fingerprint = key.get_fingerprint("sha256")
    try:
        identity = identity_from_options(
            env, comment=key.get_comment(), fingerprint=fingerprint, default_tenant=default_tenant
        )
    except IdentityError as exc:
        raise AuthorizedKeysError(str(exc)) from None
    return KeyEntry(line_number=line_number, key=key, identity=identity, rules=rules)


def parse_text(text: str, default_tenant: str) -> tuple[list[KeyEntry], list[str]]:
    """Every valid line's entry, and one message per line that is not valid."""
    entries: list[KeyEntry] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(parse_line(line, number, default_tenant))
        except AuthorizedKeysError as exc:
            errors.append(f"line {number}: {exc}")
    return entries, errors


class AuthorizedKeys:
    """The keys allowed in, reloaded when the file's modification time (or size) changes.

    A line that is not valid never lets anyone in: at start-up it is an error (``load``); on a
    reload it is skipped and logged while the valid lines take effect at once.
    """

    def __init__(self, path: Path, default_tenant: str) -> None:
        self.path = Path(path)
        self.default_tenant = default_tenant
        self._stamp: tuple[int, int, int] | None = None
        self._entries: tuple[KeyEntry, ...] = ()

    def load(self) -> int:
        """Read the file now; AuthorizedKeysError when it is missing or has a bad line."""
        try:
            stamp = self._stat()
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise AuthorizedKeysError(
                f"no authorized keys file at {self.path}; create it with one "
                "'environment=\"DRAMATIS_PLAYER=name\" ssh-ed25519 AAAA...' line per player"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthorizedKeysError(f"cannot read {self.path}: {exc}") from None
        entries, errors = parse_text(text, self.default_tenant)
        if errors:
            raise AuthorizedKeysError(f"{self.path} {errors[0]}")
        self._entries, self._stamp = tuple(entries), stamp
        return len(entries)

    def _stat(self) -> tuple[int, int, int]:
        info = os.stat(self.path)
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def entries(self) -> tuple[KeyEntry, ...]:
        """The current entries, re-read first if the file changed since the last read."""
        try:
            stamp = self._stat()
        except OSError:
            if self._entries:
                logger.error("authorized keys file %s is gone; refusing every key", self.path)
            self._entries, self._stamp = (), None
            return ()
        if stamp != self._stamp:
            self._reload(stamp)
        return self._entries

    def _reload(self, stamp: tuple[int, int, int]) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            logger.error("cannot read authorized keys %s: %s; refusing every key", self.path, exc)
            self._entries, self._stamp = (), None
            return
        entries, errors = parse_text(text, self.default_tenant)
        for error in errors:
            logger.error("authorized keys %s %s (skipped)", self.path, error)
        self._entries, self._stamp = tuple(entries), stamp
        logger.info("authorized keys reloaded: %d keys", len(entries))

    def match(self, key: asyncssh.SSHKey, peer_host: str, peer_addr: str) -> Identity | None:
        """The identity of ``key`` connecting from ``peer_addr``, or None to refuse it."""
        for entry in self.entries():
            if entry.key.public_data != key.public_data:
                continue
            if entry.rules.validate(key, peer_host, peer_addr) is not None:
                return entry.identity
        return None

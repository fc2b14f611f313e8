"""The authorized-keys file: OpenSSH's format, identities from environment= options."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest
from ssh_support import write_authorized_keys

from dramatis.ssh.authorized_keys import (
    AuthorizedKeys,
    AuthorizedKeysError,
    parse_line,
    split_options,
)


def _key(comment: str = "ana@laptop") -> tuple[asyncssh.SSHKey, str]:
    private = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    public = private.convert_to_public()
    return public, public.export_public_key().decode().strip()


def test_environment_options_name_the_player_tenant_and_role() -> None:
    key, line = _key()
    entry = parse_line(
        'environment="DRAMATIS_PLAYER=ana",environment="DRAMATIS_TENANT=acme",'
        f'environment="DRAMATIS_ROLE=player" {line}',
        1,
        "default",
    )
    assert entry.key.public_data == key.public_data
    identity = entry.identity
    assert (identity.player, identity.tenant, identity.role) == ("ana", "acme", "player")
    assert identity.fingerprint == key.get_fingerprint("sha256")


def test_defaults_viewer_the_server_tenant_and_the_key_comment() -> None:
    _, line = _key("bea@desk")
    identity = parse_line(line, 1, "guild").identity
    assert (identity.player, identity.tenant, identity.role) == ("bea@desk", "guild", "viewer")


def test_a_key_without_a_usable_comment_is_named_by_its_fingerprint() -> None:
    key, line = _key("")
    identity = parse_line(line.split(" ")[0] + " " + line.split(" ")[1], 1, "default").identity
    digest = key.get_fingerprint("sha256").split(":", 1)[1]
    assert identity.player.startswith("key-")
    assert identity.player[4:] in "".join(c for c in digest if c.isalnum())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ('environment="DRAMATIS_ROLE=admin"', "role 'admin'"),
        ('environment="DRAMATIS_TENANT=no spaces"', "tenant 'no spaces'"),
        ('environment="DRAMATIS_PLAYER=a\\"b"', "player"),
        ('environment="NOVALUE"', "NAME=value"),
        ('environment="DRAMATIS_ROLE=player', "unbalanced"),
        ("cert-authority", "cert-authority"),
    ],
)
def test_a_bad_line_says_what_is_wrong(options: str, message: str) -> None:
    _, line = _key()
    with pytest.raises(AuthorizedKeysError, match=message):
        parse_line(f"{options} {line}", 3, "default")


def test_a_line_without_a_key_is_rejected() -> None:
    with pytest.raises(AuthorizedKeysError, match="no public key"):
        parse_line("ssh-ed25519 not-base64", 1, "default")


def test_quoted_values_may_hold_commas_and_spaces() -> None:
    options, rest = split_options('from="10.0.0.0/8,127.0.0.1",environment="A=b c" ssh-ed25519 X')
    assert options == [("from", "10.0.0.0/8,127.0.0.1"), ("environment", "A=b c")]
    assert rest == "ssh-ed25519 X"


def test_from_option_limits_where_a_key_may_log_in_from(tmp_path: Path) -> None:
    key, line = _key()
    path = tmp_path / "authorized_keys"
    write_authorized_keys(path, [f'from="10.1.2.3" {line}'])
    keys = AuthorizedKeys(path, "default")
    assert keys.load() == 1
    assert keys.match(key, "127.0.0.1", "127.0.0.1") is None
    assert keys.match(key, "10.1.2.3", "10.1.2.3") is not None


def test_start_up_fails_on_a_missing_file_or_a_bad_line(tmp_path: Path) -> None:
    with pytest.raises(AuthorizedKeysError, match="no authorized keys file"):
        AuthorizedKeys(tmp_path / "missing", "default").load()
    path = tmp_path / "authorized_keys"
    _, line = _key()
    write_authorized_keys(path, ["# players", line, f'environment="DRAMATIS_ROLE=boss" {line}'])
    with pytest.raises(AuthorizedKeysError, match="line 3: role 'boss'"):
        AuthorizedKeys(path, "default").load()


def test_a_reload_skips_bad_lines_and_applies_the_good_ones(tmp_path: Path) -> None:
    ana, ana_line = _key("ana")
    bea, bea_line = _key("bea")
    path = tmp_path / "authorized_keys"
    write_authorized_keys(path, [ana_line])
    keys = AuthorizedKeys(path, "default")
    keys.load()
    assert keys.match(ana, "127.0.0.1", "127.0.0.1") is not None
    assert keys.match(bea, "127.0.0.1", "127.0.0.1") is None
    write_authorized_keys(path, [f'environment="DRAMATIS_ROLE=boss" {ana_line}', bea_line])
    assert keys.match(ana, "127.0.0.1", "127.0.0.1") is None  # its line is broken: refused
    assert keys.match(bea, "127.0.0.1", "127.0.0.1") is not None
    path.unlink()
    assert keys.match(bea, "127.0.0.1", "127.0.0.1") is None  # no file: nobody

"""Who gets in: listed public keys only, with the identity the file gives them."""

from __future__ import annotations

import asyncssh
import pyte
from ssh_support import StartHost, process_environment, wait_until, write_authorized_keys


async def test_an_unknown_key_is_refused_until_it_is_added(start_host: StartHost) -> None:
    host = await start_host()
    known, stranger = host.key("known"), host.key("stranger")
    write_authorized_keys(host.authorized_keys, [known.authorized_line()])
    refused = host.ssh(stranger)
    await refused.wait_for("Permission denied")
    assert await refused.wait_exit() == 255
    assert host.server.sessions == []

    # Adding the key to the file lets it in at once, without a restart.
    write_authorized_keys(
        host.authorized_keys, [known.authorized_line(), stranger.authorized_line()]
    )
    admitted = host.ssh(stranger)
    await admitted.wait_for("Samples")


async def test_only_public_key_authentication_is_offered(start_host: StartHost) -> None:
    host = await start_host()
    key = host.key("pat")
    write_authorized_keys(host.authorized_keys, [key.authorized_line()])
    terminal = host.ssh(
        key,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
    )
    await terminal.wait_for("Permission denied (publickey)")
    assert await terminal.wait_exit() == 255


async def test_a_removed_key_is_refused_without_a_restart(start_host: StartHost) -> None:
    host = await start_host()
    key = host.key("gone")
    write_authorized_keys(host.authorized_keys, [key.authorized_line()])
    first = host.ssh(key)
    await first.wait_for("Samples")
    write_authorized_keys(host.authorized_keys, ["# nobody"])
    second = host.ssh(key)
    await second.wait_for("Permission denied")


class _Screen(asyncssh.SSHClientSession[bytes]):
    def __init__(self, columns: int, rows: int) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)


async def test_client_environment_requests_cannot_change_the_identity(
    start_host: StartHost,
) -> None:
    host = await start_host()
    key = host.key("vic", "vic@desk")
    write_authorized_keys(host.authorized_keys, [key.authorized_line(DRAMATIS_TENANT="acme")])
    async with asyncssh.connect(
        "127.0.0.1",
        host.port,
        username="vic",
        client_keys=[str(key.private)],
        known_hosts=None,
        agent_path=None,
        config=None,
    ) as conn:
        chan, session = await conn.create_session(
            lambda: _Screen(100, 30),
            term_type="xterm-256color",
            term_size=(100, 30),
            encoding=None,
            env={
                "DRAMATIS_ROLE": "operator",
                "DRAMATIS_TENANT": "default",
                "DRAMATIS_PLAYER": "mallory",
                "DRAMATIS_SESSION": "forged",
            },
        )
        await wait_until(lambda: "Samples" in session.text(), "the setup screen")
        [info] = host.server.sessions
        env = process_environment(info.pid or 0)
        assert env["DRAMATIS_ROLE"] == "viewer"
        assert env["DRAMATIS_TENANT"] == "acme"
        assert env["DRAMATIS_PLAYER"] == "vic@desk"  # the key's comment
        assert env["DRAMATIS_SESSION"] == info.session_id
        assert env["TERM"] == "xterm-256color" and env["COLORTERM"] == "truecolor"
        assert "tenant: acme" in session.text()

        # A window-change request resizes the app's terminal; the app redraws to fit.
        chan.change_terminal_size(80, 20)
        session.screen.resize(20, 80)
        session.screen.reset()  # only what the app draws after the resize counts
        await wait_until(
            lambda: "palette" in session.screen.display[-1], "the footer on the new last line"
        )
        chan.close()
    await wait_until(lambda: len(host.ended) == 1, "the session-end hook")

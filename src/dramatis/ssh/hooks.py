"""What happens in the game when a player's session ends."""

from __future__ import annotations

from collections.abc import Iterable

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.ssh.session import SessionEndHook, SessionInfo


def leave_table_hook(settings: Settings) -> SessionEndHook:
    """A session-end hook that frees the session's seat at the shared table."""

    async def on_session_end(session: SessionInfo) -> None:
        scoped = settings.model_copy(update={"tenant": session.tenant, "role": session.role})
        async with open_dramatis(scoped) as dramatis:
            await dramatis.table.leave_session(session.session_id)

    return on_session_end


async def release_earlier_sessions(settings: Settings, tenants: Iterable[str], tag: str) -> int:
    """Free the seats and places a host's earlier sessions still hold, in every tenant it
    serves: when a host starts, none of them can be alive (it may have crashed before it could
    release them). Returns the number of tables cleared."""
    cleared = 0
    for tenant in sorted(set(tenants)):
        scoped = settings.model_copy(update={"tenant": tenant, "role": "operator"})
        async with open_dramatis(scoped) as dramatis:
            cleared += await dramatis.table.leave_host(tag)
    return cleared

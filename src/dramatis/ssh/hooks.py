"""What happens in the game when a player's session ends."""

from __future__ import annotations

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

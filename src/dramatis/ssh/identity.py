"""Who a connection is: the player, tenant and role an authorized key maps to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal, cast, get_args

from pydantic import TypeAdapter, ValidationError

from dramatis.config import Settings

Role = Literal["operator", "player", "viewer"]
ROLES: tuple[str, ...] = get_args(Settings.model_fields["role"].annotation)
DEFAULT_ROLE: Role = "viewer"

# The variables a key's environment="NAME=value" options may set; nothing else is honoured.
PLAYER_VAR, TENANT_VAR, ROLE_VAR = "DRAMATIS_PLAYER", "DRAMATIS_TENANT", "DRAMATIS_ROLE"
IDENTITY_VARS = (PLAYER_VAR, TENANT_VAR, ROLE_VAR)

# A player name is shown on other players' screens: printable, one line, no quotes.
_PLAYER = re.compile(r"^[^\x00-\x1f\x7f\"\\]{1,64}$")
# The tenant is checked with the same constraint as the DRAMATIS_TENANT setting.
_TENANT = TypeAdapter(Annotated[str, Settings.model_fields["tenant"]])


class IdentityError(ValueError):
    """An authorized key's identity options are not valid."""


@dataclass(frozen=True)
class Identity:
    """The player, tenant and role a key stands for, and the key's fingerprint."""

    player: str
    tenant: str
    role: Role
    fingerprint: str

    def environment(self) -> dict[str, str]:
        """The identity as the app process's environment variables."""
        return {PLAYER_VAR: self.player, TENANT_VAR: self.tenant, ROLE_VAR: self.role}


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a valid tenant name, else IdentityError."""
    try:
        return _TENANT.validate_python(tenant)
    except ValidationError:
        raise IdentityError(
            f"tenant {tenant!r} is not valid (letters, digits, '_', '.', '-'; up to 63)"
        ) from None


def player_from_key(comment: str | None, fingerprint: str) -> str:
    """A player name for a key without DRAMATIS_PLAYER: its comment, else its fingerprint."""
    name = (comment or "").strip()
    if name and _PLAYER.match(name):
        return name
    digest = re.sub(r"[^A-Za-z0-9]", "", fingerprint.split(":", 1)[-1])
    return f"key-{digest[:10]}"


def identity_from_options(
    env: dict[str, str], *, comment: str | None, fingerprint: str, default_tenant: str
) -> Identity:
    """Resolve and validate the identity of a key from its environment options."""
    role = env.get(ROLE_VAR, DEFAULT_ROLE).strip()
    if role not in ROLES:
        raise IdentityError(f"role {role!r} is not one of {', '.join(ROLES)}")
    tenant = check_tenant(env.get(TENANT_VAR, default_tenant).strip())
    player = env.get(PLAYER_VAR)
    if player is None:
        player = player_from_key(comment, fingerprint)
    else:
        player = player.strip()
        if not _PLAYER.match(player):
            raise IdentityError(
                f"player {player!r} is not valid (1-64 printable characters, no quotes)"
            )
    return Identity(player=player, tenant=tenant, role=cast(Role, role), fingerprint=fingerprint)

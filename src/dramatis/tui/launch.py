"""Entry to the terminal app from the command line (``dramatis`` with no command)."""

from __future__ import annotations

import sys


def launch_tui() -> int:
    """Open the terminal app on the configured database; 2 for a bad configuration."""
    from dramatis.config import Settings

    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: a bad DRAMATIS_* variable or config file
        first = next(
            (line.strip() for line in str(exc).splitlines()[1:3] if line.strip()), str(exc)
        )
        print(f"dramatis: bad configuration: {first}", file=sys.stderr)
        return 2
    from dramatis.tui.app import DramatisApp

    DramatisApp(settings).run()
    return 0

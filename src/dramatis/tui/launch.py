"""Entry to the terminal app from the command line."""

from __future__ import annotations

import sys


def launch_tui() -> int:
    """Open the terminal app. Until it lands, explain what the command line can do instead."""
    print(
        "dramatis: the terminal app is not in this build yet. Play headless meanwhile:\n"
        "  dramatis play salt-road --offline     play a sample campaign\n"
        "  dramatis campaigns                    list your campaigns\n"
        "  dramatis --help                       every command",
        file=sys.stderr,
    )
    return 0

"""Start-up of an app process on its terminal: take the PTY as the controlling terminal, then
run the app. ``python -m dramatis.ssh.child MODULE:FUNCTION [ARGS...]`` calls
``FUNCTION([ARGS...])`` and exits with what it returns.

The SSH host starts every app process in a new session (``setsid``) with the PTY on its
standard streams; claiming the PTY here makes the kernel send SIGWINCH on a resize and SIGHUP
when the terminal goes away, as for a login over sshd.
"""

from __future__ import annotations

import fcntl
import importlib
import sys
import termios
from collections.abc import Sequence

DEFAULT_TARGET = "dramatis.cli:main"


def main(argv: Sequence[str]) -> int:
    """Claim the terminal on stdin, then call the target with the remaining arguments."""
    try:
        fcntl.ioctl(sys.stdin.fileno(), termios.TIOCSCTTY, 0)
    except OSError as exc:
        print(f"dramatis: cannot use this terminal: {exc.strerror}", file=sys.stderr)
        return 1
    target, *args = list(argv) or [DEFAULT_TARGET]
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(args)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Run a command as the terminal's foreground job, so Ctrl-C reaches it and not ``make``.

``make run`` starts the daemon from a recipe. A Ctrl-C in the terminal signals
the whole foreground process group, make included, and make then reports
"Interrupt" and exits 130 even though the daemon stopped cleanly with 0. A job
control shell avoids this by giving each job its own process group and the
terminal to that group; this script does the same for one command, then hands
the terminal back and exits with the command's status. Without a terminal
(CI, a pipe) it simply runs the command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return subprocess.call(argv)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # we may set the terminal's group from the background
    child = subprocess.Popen(argv, process_group=0)
    with contextlib.suppress(OSError):
        os.tcsetpgrp(tty, child.pid)
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # not ours: the child received it too and decides
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, os.getpgrp())
        os.close(tty)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

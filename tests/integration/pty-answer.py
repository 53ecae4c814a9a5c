#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a command on a new pseudo-terminal and type one answer after each prompt ("...: ").

    pty-answer.py ANSWER... -- COMMAND [ARG...]

The answers are typed only once the prompt is shown: a program that flushes typeahead when it
sets up the terminal for a secret (before it prints the prompt) would lose them otherwise. Prints what the terminal showed, exits with the
command's status; 124 with a message when the command does not finish within 60 seconds.
"""
import os
import pty
import select
import sys
import time


def main():
    if "--" not in sys.argv:
        sys.exit("usage: pty-answer.py ANSWER... -- COMMAND [ARG...]")
    sep = sys.argv.index("--")
    answers, cmd = sys.argv[1:sep], sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    shown = b""
    pending = b""
    deadline = time.monotonic() + 60
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.stdout.write(shown.decode(errors="replace"))
            print("pty-answer: %s did not finish within 60 s" % cmd[0])
            sys.exit(124)
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            data = os.read(fd, 1024)
        except OSError:
            break
        if not data:
            break
        shown += data
        pending += data
        if pending.rstrip(b" ").endswith(b":") and answers:
            # The prompt is written after the terminal is set up (and typeahead flushed).
            os.write(fd, answers.pop(0).encode() + b"\n")
            pending = b""
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(shown.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()

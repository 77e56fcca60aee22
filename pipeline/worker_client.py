"""The command Beam runs for each local worker process: hand this environment to a waiting fork of the
launcher (``pipeline.warm_workers``) and exit as it exits; with no fork free, become a fresh worker.

Why a module of its own, standard library only: the command runs it as a file with ``python -S -I``
(no site, no packages, no environment variables read), which reaches the fork in ~15 ms instead of the
~55 ms an interpreter with site-packages and our package's import takes here. Both workers of a run wait
for it before Beam's first stage can start, in every local multi-worker run. A fresh worker needs the
whole environment, so this process then replaces itself (``exec``) with a normal interpreter that runs
``pipeline.warm_workers.fresh_worker_main``.

Either way the worker leaves the terminal's Ctrl-C to the launcher (one line, exit 130) and dies with
the launcher: this command and a fresh worker ignore it, a fork quiets its logging (``pipeline.warm_workers``).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import struct
import sys
from collections.abc import Iterable

ENV_POOL = "STACKCURATE_WARM_WORKERS"  # the folder of the forks' slots (and claims), for the worker command
STATUS = struct.Struct("!i")  # a fork's exit status, sent back to the worker command
FRESH_WORKER = "from pipeline.warm_workers import fresh_worker_main; fresh_worker_main()"


def command() -> str:
    """The shell command for Beam: this file, exec'd so that Beam's ``kill`` reaches the worker itself,
    not a shell that would leave it behind."""
    return f"exec {shlex.quote(sys.executable)} -S -I {shlex.quote(os.path.abspath(__file__))}"


def die_with_parent() -> None:
    """Linux: this process is killed when its parent exits, however it exits (elsewhere: nothing)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl: nobody to work for
            os._exit(0)


def recv_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def slots(folder: str | None) -> Iterable[str]:
    """The pool's slot files, one per fork (each names the fork's socket)."""
    if not folder or not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".slot"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    for path in slots(os.environ.get(ENV_POOL)):
        try:  # the claim: the first client to create the marker gets the fork
            os.close(os.open(path + ".claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        with open(path) as slot, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect("\0" + slot.read())
            conn.sendall(json.dumps(dict(os.environ)).encode())
            conn.shutdown(socket.SHUT_WR)
            reply = recv_all(conn)
        sys.exit(STATUS.unpack(reply)[0] if len(reply) == STATUS.size else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-c", FRESH_WORKER])


if __name__ == "__main__":
    main()

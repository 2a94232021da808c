"""Several server processes on one port: ``tenure serve --workers N``.

One Python process answers decisions on one core (the GIL), so a second core needs a
second process. The parent reserves the port, then forks ``N`` workers; each builds its
own service, binds its own listening socket to that port with ``SO_REUSEPORT`` — the
kernel spreads new connections over the workers' sockets — and writes the same SQLite
log in shared mode (:class:`~tenure.serve.stores.sqlite_log.SQLiteLog`), which keeps
what would otherwise be per-process state consistent:

* a ``decision_id`` retry or an outcome reaching another worker finds the first write,
  because the check and the insert are one transaction under the writers' lock;
* a member signed up through another worker is found by reading the log before a 404;
* frequency caps see the other workers' decisions from their next commit (every write
  reads the others' new rows; an idle worker looks every 50 ms). The one window left:
  two requests for the same member on two workers within the same commit interval
  (milliseconds) may both pass a cap;
* a policy swap goes through the watched ``--policy`` file, which every worker reloads;
  ``POST /v1/admin/policy`` would reach one worker, so it is refused (409).

The parent only supervises: it prints the ready line once every worker is listening,
forwards SIGTERM/SIGINT (each worker drains and exits 0, and so does the parent), and
replaces a worker that dies after start-up. A worker that fails to start (a bad dataset)
stops the others and the parent exits with its status. Workers die with the parent
(``PR_SET_PDEATHSIG``), so a SIGKILL of the parent leaves no orphan holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType

__all__ = ["listen_shared", "reserve", "supervise"]

log = logging.getLogger("tenure.serve")

Worker = Callable[[int, socket.socket, Callable[[], None]], int]
"""``worker(index, listening_socket, ready) -> exit status``: build the service and serve."""


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def reserve(host: str, port: int) -> socket.socket:
    """Bind (without listening) the port the workers will share; ``port=0`` picks one.

    A bound socket that does not listen takes no connections, but holds the port for as
    long as the parent runs, so a replaced worker binds the same one again. The port is
    first bound without ``SO_REUSEPORT``: that fails while any server holds it, where a
    ``SO_REUSEPORT`` bind would quietly join another running ``--workers`` server.
    """
    if port != 0:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))  # OSError (address in use) when a server has it
    return _socket(host, port)


def listen_shared(host: str, port: int) -> socket.socket:
    """A worker's own listening socket on the shared port."""
    sock = _socket(host, port)
    sock.listen(2048)
    return sock


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphan keeps the port)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def supervise(
    workers: int,
    host: str,
    port: int,
    worker: Worker,
    *,
    on_ready: Callable[[str, int], None],
) -> int:
    """Run ``workers`` forked processes serving ``host:port``; return the exit status.

    ``on_ready(url, workers)`` is called once, when every first-generation worker has
    reported ready. SIGTERM/SIGINT are forwarded to the workers; the status is 0 when all
    of them drained cleanly.
    """
    held = reserve(host, port)
    bound = held.getsockname()[1]
    url = f"http://{host}:{bound}" if ":" not in host else f"http://[{host}]:{bound}"
    read_end, write_end = os.pipe()
    children: dict[int, int] = {}  # pid -> worker index
    stopping = False

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            status = 1
            try:
                os.close(read_end)
                # Its own process group: a terminal's Ctrl-C reaches the parent only, which
                # forwards one SIGTERM (a second signal would cut uvicorn's drain short).
                os.setpgid(0, 0)
                _die_with_parent()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                held.close()
                sock = listen_shared(host, bound)

                def ready() -> None:
                    os.write(write_end, bytes([index]))

                status = worker(index, sock, ready)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(status)
        children[pid] = index

    def forward(sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    started = threading.Event()

    def wait_ready() -> None:
        seen: set[int] = set()
        while len(seen) < workers:
            chunk = os.read(read_end, 64)
            if not chunk:
                return
            seen.update(chunk)
        started.set()
        on_ready(url, workers)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for index in range(workers):
            spawn(index)
        threading.Thread(target=wait_ready, name="tenure-workers-ready", daemon=True).start()
        status = 0
        while children:
            try:
                pid, raw = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in children:
                continue
            index = children.pop(pid)
            code = os.waitstatus_to_exitcode(raw)
            if stopping:
                status = status or (0 if code == 0 else 1)
                continue
            if not started.is_set():
                # A worker could not start (its error is on stderr): stop the others.
                log.error("worker %d exited with status %d during start-up", index, code)
                forward(signal.SIGTERM, None)
                status = code if code > 0 else 3
                continue
            print(
                f"tenure serve: worker {index} (pid {pid}) exited with status {code}; "
                "starting another",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(0.1)  # no tight loop if something kills every new worker at once
            spawn(index)
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        held.close()
        os.close(write_end)
        os.close(read_end)

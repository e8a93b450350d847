"""gunicorn settings for ``loyalty demo serve`` (``-c python:loyalty.demo.gunicorn_conf``).

The demo runs in a terminal and stops with Ctrl-C, which reaches the master and every worker.
"""

import os
import sys

# No control socket: it lives at one path per user (~/.gunicorn), and two checkouts may each
# run a demo.
control_socket_disable = True
# A backstop only: with worker_int below, workers are gone long before this.
graceful_timeout = 5


def worker_int(worker) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C: the worker leaves at once, abandoning what it was doing (its open transaction
    rolls back).  gunicorn's own quick exit calls sys.exit, which waits for the worker's
    request threads; one blocked on a browser's idle keep-alive or preconnected socket holds
    the worker until the master kills it ("Worker was sent SIGKILL! Perhaps out of memory?")."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

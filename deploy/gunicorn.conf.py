"""gunicorn settings for the back office: ``gunicorn -c deploy/gunicorn.conf.py loyalty.wsgi:app``.

Behind a reverse proxy (nginx, a load balancer) that terminates TLS.  Application settings
come from ``LOYALTY_*`` variables (deploy/loyalty.env.example); only the process shape is here.
Command-line flags override this file (``--bind``, ``--workers``).
"""

import multiprocessing
import os
from pathlib import Path

# Loopback by default: the proxy in front is the only client.  Containers bind 0.0.0.0:8000.
bind = "127.0.0.1:8000"

# Sync workers: a checkout is short and spends its time in Python and PostgreSQL, so one
# request per process is simplest and fastest.  WEB_CONCURRENCY is the usual knob to override.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", "0")) or multiprocessing.cpu_count() * 2 + 1

# A till waits at most a few seconds; a request still running after 30 s is stuck.
timeout = 30
graceful_timeout = 10
# Recycle workers now and then so slow leaks cannot accumulate; jitter avoids a stampede.
max_requests = 20_000
max_requests_jitter = 2_000

# Requests are logged by the proxy; errors and start-up go to stderr (journald, docker logs).
accesslog = None
errorlog = "-"
loglevel = "info"
# No gunicornc control socket: it lives at one path per user, and hosts may run several stacks.
control_socket_disable = True

# Trust X-Forwarded-* only from the proxy on this host.
forwarded_allow_ips = "127.0.0.1"

# Worker heartbeats on tmpfs: a slow or full disk must not get healthy workers killed.
# (gunicorn's own advice for containers; only heartbeat files go there.)
SHM = "/dev/shm"  # noqa: S108
if Path(SHM).is_dir():
    worker_tmp_dir = SHM

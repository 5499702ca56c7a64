"""gunicorn settings for the gateway. gRPC channels are opened lazily in each worker after the fork.

Metrics are never served on the public port. With a metrics port (``GATEWAY_METRICS_PORT`` or
``METRICS_PORT``, read by kit.settings like every process's), each worker writes its counters to
``PROMETHEUS_MULTIPROC_DIR`` and the master serves the sum over all workers on that port
(kit.metrics, a ``MultiProcessCollector`` registry)."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # the master reads kit.settings before any worker imports the app
    sys.path.insert(0, _ROOT)

from kit.settings import load_settings  # noqa: E402

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
timeout = 30
# Longer than a load balancer's idle timeout, so the balancer (not gunicorn) closes idle connections:
# otherwise a request can be sent on a connection gunicorn is closing ("connection reset").
keepalive = int(os.environ.get("GATEWAY_KEEPALIVE", "65"))
graceful_timeout = 10
accesslog = None
# gunicorn >= 25 otherwise opens a control socket at $HOME/.gunicorn/gunicorn.ctl, one path shared by
# every gunicorn of the user (concurrent test runs take it from each other); nothing here uses gunicornc.
control_socket_disable = True
# Not preloaded: prometheus_client picks its multiprocess mode when first imported, which must be
# after on_starting has set PROMETHEUS_MULTIPROC_DIR.
preload_app = False

# Refuses (SettingsError) a metrics port equal to GATEWAY_BIND's.
_METRICS_PORT = load_settings("gateway").metrics_port
_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


def on_starting(server):
    """Before any worker: a clean directory for the workers' metrics."""
    if not _METRICS_PORT:
        return
    bound = {address[1] for address in server.cfg.address if isinstance(address, tuple)}
    if _METRICS_PORT in bound:  # a bind given on the command line (-b), not in GATEWAY_BIND
        raise SystemExit(f"METRICS_PORT ({_METRICS_PORT}) must differ from the gateway's bind port")
    path = os.environ.get(_MULTIPROC)
    if not path:
        path = tempfile.mkdtemp(prefix="cartable-gateway-metrics-")
        os.environ[_MULTIPROC] = path
        atexit.register(_remove_in_master, path, os.getpid())
    elif not server.master_pid:  # not a re-executed master (USR2), whose old workers still write there
        # A restarted container keeps its emptyDir: the previous master's counts are not this one's.
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def when_ready(server):
    """The master serves /metrics: every worker's, summed (live and exited ones)."""
    if not _METRICS_PORT:
        return
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    from kit.metrics import start_metrics_server

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_metrics_server(_METRICS_PORT, registry=registry)
    server.log.info("Metrics of every worker on port %s (/metrics)", _METRICS_PORT)


def child_exit(server, worker):
    """A worker's live gauges leave with it; its counters stay in the sum."""
    if os.environ.get(_MULTIPROC):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _remove_in_master(path: str, master: int) -> None:
    # Workers inherit this atexit handler with the fork: only the master removes the directory.
    if os.getpid() == master:
        shutil.rmtree(path, ignore_errors=True)

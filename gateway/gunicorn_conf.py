"""gunicorn settings for the gateway. gRPC channels are opened lazily in each worker after the fork."""

import os

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
preload_app = False

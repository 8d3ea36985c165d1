"""gunicorn settings for Vigie (``gunicorn -c gunicorn.conf.py wsgi:app``).

Threaded workers serve HTTP and websockets (Flask-SocketIO threading mode with
simple-websocket). Clients use the websocket transport only, so several workers
need no sticky sessions; they relay what the poller publishes through Redis
(VIGIE_SOCKETIO_MESSAGE_QUEUE) and read its snapshot (VIGIE_SNAPSHOT_STORE_URL).
"""

import os

bind = os.environ.get("VIGIE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("VIGIE_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("VIGIE_THREADS", "200"))  # one per open websocket
# gthread caps open connections per worker (default 1000, whatever `threads` is).
worker_connections = int(os.environ.get("VIGIE_WORKER_CONNECTIONS", "2000"))
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("VIGIE_ACCESS_LOG") else None
forwarded_allow_ips = os.environ.get("VIGIE_FORWARDED_ALLOW_IPS", "127.0.0.1")

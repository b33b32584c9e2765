"""gunicorn settings for the portal (systemd's efnet-web.service and `make prod-smoke` both start
``gunicorn -c deploy/gunicorn.conf.py efnet.wsgi:application``, as the Procfile says).

gunicorn listens on a unix socket that only nginx (deploy/nginx/efnet.conf) reaches; nginx terminates TLS and
passes X-Forwarded-Proto/-For and X-Request-ID, which the portal trusts with BEHIND_PROXY=1.
"""

import multiprocessing
import os

bind = f"unix:{os.environ.get('EFNET_SOCKET', '/run/efnet/gunicorn.sock')}"
umask = 0o007  # the socket: owner and group (nginx's user is in the group), nobody else
# Sync workers: requests are short; PDFs that take long are rendered by the Celery workers.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # a single card renders in well under a second
graceful_timeout = 30  # on TERM: finish the requests in flight, then exit
max_requests = 2000  # bound any slow leak; jitter keeps the workers from restarting together
max_requests_jitter = 200
# The portal writes one line per request itself (efnet.middleware.RequestLogMiddleware, with the request id
# and tokens redacted): no gunicorn access log, whose lines would carry the self-report token in the path.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Workers' heartbeat files on tmpfs, not on a disk that may stall.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# Check the configuration once in the master before forking: a misconfigured production refuses to start
# (efnet/wsgi.py runs efnet.checks.refuse_to_start_misconfigured).
preload_app = True

"""Start and stop real Celery worker processes for tests: on PostgreSQL + Redis, or on the embedded default
(a SQLite file and kombu's filesystem transport, as `make run` runs them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# Several runs may share one Redis server: TEST_REDIS_DB picks the database number (15 unless told).
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


def redis_url_for_tests() -> str:
    """The REDIS_URL of the run, on the test database number (TEST_REDIS_DB; never db 0)."""
    parts = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{TEST_REDIS_DB}", "", ""))


def database_url_for_tests() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """One ``celery worker`` process (solo pool: the process that consumes is the one that sends, so
    ``kill -9`` of it is a crash mid-send, as a machine reboot would be)."""

    def __init__(
        self,
        *,
        queue: str,
        smtp_port: int,
        extra_env: dict | None = None,
        pool_args: tuple[str, ...] = ("--pool=solo",),
        command: list[str] | None = None,
    ):
        self.log = tempfile.NamedTemporaryFile(prefix="notices-worker-", suffix=".log", delete=False)  # noqa: SIM115
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.notices.worker_settings",
            "DATABASE_URL": database_url_for_tests(),
            # Empty: the filesystem transport under EFNET_VAR_DIR (the embedded default).
            "REDIS_URL": redis_url_for_tests() if os.environ.get("REDIS_URL") else "",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "NOTICES_RATE_PER_SECOND": "0",
            "NOTICES_TEST_QUEUE": queue,
            "PYTHONPATH": str(ROOT),
            **(extra_env or {}),
        }
        self.process = subprocess.Popen(
            command
            or [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "efnet",
                "worker",
                *pool_args,
                "-Q",
                queue,
                "-n",
                f"notices-test-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @classmethod
    def beat(cls, *, queue: str, schedule_file: Path, extra_env: dict | None = None) -> Worker:
        """A ``celery beat`` process (as `make worker` runs it beside the worker), sending to ``queue``."""
        command = [sys.executable, "-m", "celery", "-A", "efnet", "beat", "-s", str(schedule_file), "-l", "info"]
        return cls(queue=queue, smtp_port=9, extra_env=extra_env, command=command)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("celery worker did not start:\n" + self.output()[-3000:])

    def kill(self) -> None:
        """kill -9, of the whole process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        Path(self.log.name).unlink(missing_ok=True)

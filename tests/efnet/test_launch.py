"""`make run`'s launcher (efnet/launch.py): the demo serves the portal's own pages with DEBUG off, and stopping
it (TERM to it, or its parent killed, as when `make` is killed) leaves no web server, worker or beat behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_demo_port() -> int:
    for port in range(8300, 8400):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8300-8399")


def demo_env(tmp_path: Path, port: int) -> dict:
    keep = ("DJANGO_", "DEBUG", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(keep) and not k.startswith(("EFNET_", "HTTPS"))}
    env.update(
        DJANGO_SETTINGS_MODULE="efnet.settings",
        EFNET_DEMO="1",
        PORT=str(port),
        EFNET_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'efnet.sqlite3'}",
    )
    return env


def session_members(sid: int) -> list[str]:
    """Live processes of session ``sid`` (zombies waiting to be reaped are not running anything)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
            state, session = fields[0], int(fields[3])
            if session == sid and state != "Z":
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{stat.parent.name} {cmdline}")
        except OSError:
            continue  # the process ended while we looked
    return found


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (our own loopback server)
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def page_up(base: str):
    try:
        return get(base + "/login/")
    except OSError:
        return None


@pytest.fixture
def demo(tmp_path):
    port = free_demo_port()
    env = demo_env(tmp_path, port)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    started: list[subprocess.Popen] = []

    def start(*cmd: str) -> subprocess.Popen:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        started.append(process)
        return process

    yield port, env, start
    for process in started:  # a failed test must not leave servers behind either
        for line in session_members(process.pid):
            os.kill(int(line.split()[0]), signal.SIGKILL)
        process.wait(timeout=10)


def test_make_run_serves_the_portals_pages_and_a_term_stops_everything(demo):
    port, env, start = demo
    base = f"http://127.0.0.1:{port}"
    launcher = start(sys.executable, "-m", "efnet.launch", "--port", str(port))
    status, _, login_page = wait_for(lambda: page_up(base), 60, "the login page")

    assert status == 200
    assert "デモ環境です" in login_page and "EFNET_DEMO=1 .venv/bin/python manage.py totp_code" in login_page
    assert 'rel="icon"' in login_page
    status, content_type, _ = get(base + "/favicon.ico")  # urllib follows the redirect to the static SVG
    assert (status, content_type) == (200, "image/svg+xml")
    status, _, missing = get(base + "/no-such-page/")
    assert status == 404
    assert "お探しのページは見つかりませんでした" in missing
    assert "URLconf" not in missing  # not Django's debug page
    wait_for(lambda: any("celery" in line for line in session_members(launcher.pid)), 30, "the worker")
    wait_for(lambda: any(" beat " in line for line in session_members(launcher.pid)), 30, "beat, a process of its own")

    # A second launcher on the same files would start a second worker and a second beat: it is refused.
    second = subprocess.run(
        [sys.executable, "-m", "efnet.launch", "--port", str(port)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert second.returncode != 0 and "another launcher" in second.stderr

    assert len(session_members(launcher.pid)) >= 4  # the launcher, the web server, the worker and beat at least
    launcher.send_signal(signal.SIGTERM)
    launcher.wait(timeout=40)
    survivors = session_members(launcher.pid)
    assert survivors == [], survivors


def test_when_make_is_killed_the_launcher_stops_what_it_started(demo):
    port, env, start = demo
    # A shell standing in for make: the launcher is its child, and it is killed on its own, not its group.
    shell = start(
        "bash", "-c", '"$@"; echo unreachable', "make", sys.executable, "-m", "efnet.launch", "--port", str(port)
    )
    wait_for(lambda: page_up(f"http://127.0.0.1:{port}"), 60, "the login page")
    wait_for(lambda: any("celery" in line for line in session_members(shell.pid)), 30, "the worker")

    os.kill(shell.pid, signal.SIGKILL)
    shell.wait(timeout=10)
    wait_for(lambda: session_members(shell.pid) == [], 40, "every process the launcher started to stop")

"""Run the portal on one machine: the web server, a Celery worker and the scheduler (beat, a process of its
own), started and stopped together. `make run` and `make dev` use it: ``python -m efnet.launch --port 8000``;
`make worker` runs the worker and beat only (``--no-web``).

Each child runs in a process group of its own, so a stop reaches everything it started (runserver's reloader,
a worker's render processes). The launcher stops them all on TERM, INT or HUP, when any of them exits, and when its
own parent goes away (a `make` killed on its own would otherwise leave them running). A lock in the var dir
refuses a second launcher on the same files, which would start a second worker and a second beat.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def commands(
    *, host: str, port: int, reload: bool, var_dir: Path, web: bool = True, concurrency: int = 2, log_level="warning"
) -> dict[str, list[str]]:
    celery = [sys.executable, "-m", "celery", "-A", "efnet"]
    # Threads pool: the tasks wait on SMTP and the database, and batch PDFs render on the worker's own render
    # processes (efnet/pdf_pool.py). Two threads for make run: SQLite takes one writer at a time; more only
    # queue up.
    worker = [*celery, "worker", "--pool=threads", f"--concurrency={concurrency}", "-l", log_level]
    # Beat in a process of its own, not the worker's -B child, which outlived a killed worker and then ran
    # beside the restarted one's. Its scheduler also holds a lock in the database (efnet/beat.py).
    beat = [*celery, "beat", "-s", str(var_dir / "celerybeat-schedule"), "-l", log_level]
    cmds = {"worker": worker, "beat": beat}
    if web:
        cmds["web"] = [sys.executable, "manage.py", "runserver", f"{host}:{port}", *([] if reload else ["--noreload"])]
    return cmds


class Launcher:
    def __init__(self, cmds: dict[str, list[str]], *, grace_seconds: float = 20):
        self.cmds, self.grace = cmds, grace_seconds
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.parent = os.getppid()

    def start(self) -> None:
        for name, cmd in self.cmds.items():
            self.children[name] = subprocess.Popen(cmd, cwd=ROOT, process_group=0)

    def _signal_all(self, sig: int) -> None:
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def run(self) -> int:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        self.start()
        code = 0
        while not self.stopping:
            exited = [(name, c.returncode) for name, c in self.children.items() if c.poll() is not None]
            if exited:
                name, code = exited[0]
                print(f"launch: {name} exited ({code}); stopping the others", file=sys.stderr)
                break
            if os.getppid() != self.parent:
                print("launch: parent process gone; stopping", file=sys.stderr)
                break
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        """TERM to every group (the worker finishes the messages it is sending), then KILL after the grace."""
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        # Whatever is left in the groups (a reloader's child, a beat process) goes too.
        self._signal_all(signal.SIGKILL)
        for child in self.children.values():
            child.wait()


def hold_lock(var_dir: Path):
    var_dir.mkdir(parents=True, exist_ok=True)
    handle = open(var_dir / "launch.lock", "w")  # noqa: SIM115  (held for the launcher's lifetime)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"launch: another launcher already runs on {var_dir} (stop it first: Ctrl-C in its terminal)")
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--reload", action="store_true", help="restart the web server when code changes")
    parser.add_argument("--no-web", action="store_true", help="the worker and beat only (make worker)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker threads")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    var_dir = Path(os.environ.get("EFNET_VAR_DIR", ROOT / "var"))
    lock = hold_lock(var_dir)
    try:
        cmds = commands(
            host=args.host,
            port=args.port,
            reload=args.reload,
            var_dir=var_dir,
            web=not args.no_web,
            concurrency=args.concurrency,
            log_level=args.log_level,
        )
        launcher = Launcher(cmds)
        return launcher.run()
    finally:
        lock.close()


if __name__ == "__main__":
    sys.exit(main())

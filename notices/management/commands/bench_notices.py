"""Benchmark of the notice outbox: N deliveries through Celery + Redis with W worker processes to an SMTP
server on loopback (aiosmtpd, in its own process), beside a plain smtplib loop over one connection to the same
server in the same run. Counts what arrives at the server: duplicates and lost messages.

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). It works in a scratch database of its own
(``<name>_bench_notices``, created and dropped here), so no fictitious member reaches the real one.
The last line of output is one JSON object.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import multiprocessing
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

BODY = "平素は格別のご高配を賜り、厚く御礼申し上げます。\n" * 40


def _smtp_server(port_pipe, command_pipe):
    """Runs in a child process: an aiosmtpd server that counts messages by their delivery header."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        def __init__(self):
            self.counts: Counter = Counter()
            self.total = 0

        async def handle_DATA(self, server, session, envelope):
            self.total += 1
            content = envelope.original_content or b""
            head = content.split(b"\r\n\r\n", 1)[0]
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"x-efnet-delivery:") or line.lower().startswith(b"x-bench-seq:"):
                    self.counts[line.split(b":", 1)[1].strip().decode()] += 1
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    port_pipe.send(port)
    asyncio.set_event_loop(asyncio.new_event_loop())
    while True:
        command = command_pipe.recv()
        if command == "stop":
            controller.stop()
            return
        if command == "reset":
            handler.counts.clear()
            handler.total = 0
            command_pipe.send(True)
        if command == "counts":
            command_pipe.send((handler.total, dict(handler.counts)))


class SmtpServer:
    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        port_recv, port_send = ctx.Pipe(duplex=False)
        self.commands, child_end = ctx.Pipe()
        self.process = ctx.Process(target=_smtp_server, args=(port_send, child_end), daemon=True)
        self.process.start()
        self.port = port_recv.recv()

    def counts(self) -> tuple[int, dict]:
        self.commands.send("counts")
        return self.commands.recv()

    def reset(self) -> None:
        self.commands.send("reset")
        self.commands.recv()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.commands.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def _db_url(name: str) -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres") + (":" + quote(s["PASSWORD"]) if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


class Command(BaseCommand):
    help = "Benchmark: N notice deliveries through Celery + Redis workers vs a plain smtplib loop (JSON last line)."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=10_000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--timeout", type=int, default=1800, help="give up after this many seconds")

    def handle(self, *args, messages, workers, batch_size, timeout, **options):
        if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
            raise CommandError("bench_notices needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).")
        original = connection.settings_dict["NAME"]
        bench_db = f"{original}_bench_notices"
        self._create_db(bench_db)
        server = SmtpServer()
        procs: list[subprocess.Popen] = []
        try:
            baseline_text = self._baseline_text(server, messages)
            self.stdout.write(f"plain smtplib loop, short text message: {messages} messages at {baseline_text:.0f}/s")
            self._use_db(bench_db)
            call_command("migrate", verbosity=0)
            notice = self._setup(messages)
            self.stdout.write(f"{messages} deliveries frozen in the scratch database")
            baseline, baseline_wire = self._baselines_same(server, notice)
            self.stdout.write(f"plain smtplib loop, the same notices built in the loop: {baseline:.0f}/s")
            self.stdout.write(f"plain smtplib loop, the same notices already serialised: {baseline_wire:.0f}/s")
            server.reset()
            queue = f"bench-notices-{uuid.uuid4().hex[:8]}"
            procs = [self._worker(queue, bench_db, server.port, batch_size) for _ in range(workers)]
            self._wait_ready(procs, queue)
            result = self._run(notice, queue, server, timeout, batch_size)
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
            server.stop()
            self._use_db(original)
            self._drop_db(bench_db)
        result.update(
            baseline_rate_per_s=round(baseline, 1),
            baseline_wire_rate_per_s=round(baseline_wire, 1),
            baseline_text_rate_per_s=round(baseline_text, 1),
            ratio_to_baseline=round(result["rate_per_s"] / baseline, 3) if baseline else None,
            workers=workers,
            batch_size=batch_size,
        )
        self.stdout.write(json.dumps(result))

    # --- pieces ---

    def _admin_connection(self):
        import psycopg

        s = connection.settings_dict
        return psycopg.connect(
            host=s["HOST"] or "127.0.0.1",
            port=s["PORT"] or 5432,
            user=s["USER"] or "postgres",
            password=s.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        )

    def _create_db(self, name: str) -> None:
        with self._admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')

    def _drop_db(self, name: str) -> None:
        with self._admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _use_db(self, name: str) -> None:
        connection.close()
        connection.settings_dict["NAME"] = name

    def _same_notices(self, notice) -> list[tuple[str, str, str, str]]:
        """(delivery id, address, text, html) of the very notices the outbox will send, rendered beforehand."""
        from notices.emails import render_bodies
        from notices.models import Delivery
        from notices.outbox import batch_facts
        from notices.selectors import office_phone_table

        rows = list(Delivery.objects.filter(notice=notice).select_related("member__office", "notice__campaign"))
        facts, phone_table = batch_facts(rows), office_phone_table()
        out = []
        for d in rows:
            _, text, html = render_bodies(
                notice=d.notice,
                member=d.member,
                phone_table=phone_table,
                facts=facts[d.notice.campaign_id, d.member_id],
            )
            out.append((str(d.pk), d.member.email, text, html))
        return out

    def _baselines_same(self, server: SmtpServer, notice) -> tuple[float, float]:
        """Plain smtplib loops over one connection sending the very notices the outbox will send (their texts
        rendered beforehand, untimed), so the ratio measures the outbox rather than the size of a notice:
        one builds each message with the standard library in the loop (``baseline_rate_per_s``); the other
        replays the messages already serialised (``baseline_wire_rate_per_s``: the server's floor)."""
        notices = self._same_notices(notice)
        subject = "第2報【重要】BIGLOBE パスワード変更のお願い"

        def build(seq: str, to: str, text: str, html: str) -> EmailMessage:
            msg = EmailMessage()
            msg["Subject"] = subject
            msg["From"] = settings.DEFAULT_FROM_EMAIL
            msg["To"] = to
            msg["Reply-To"] = settings.EFNET_REPLY_TO
            msg["Message-ID"] = f"<baseline-{seq}@efnet-bench.example>"
            msg["X-Bench-Seq"] = seq
            msg.set_content(text)
            msg.add_alternative(html, subtype="html")
            return msg

        def loop(send) -> float:
            server.reset()
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", server.port) as smtp:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the outbox does
                for item in notices:
                    send(smtp, item)
            elapsed = time.perf_counter() - start
            total, _ = server.counts()
            if total != len(notices):
                raise CommandError(f"baseline: the server counted {total} of {len(notices)}")
            return len(notices) / elapsed

        built = loop(lambda smtp, item: smtp.send_message(build(*item)))
        wire = {item[0]: build(*item).as_bytes(policy=SMTP_POLICY) for item in notices}
        replayed = loop(lambda smtp, item: smtp.sendmail(settings.DEFAULT_FROM_EMAIL, [item[1]], wire[item[0]]))
        return built, replayed

    def _baseline_text(self, server: SmtpServer, n: int) -> float:
        """A plain smtplib loop of a short text message (the figure earlier runs compared against)."""
        server.reset()
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", server.port) as smtp:
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the outbox does
            for i in range(n):
                msg = EmailMessage()
                msg["Subject"] = "第2報【重要】BIGLOBE パスワード変更のお願い"
                msg["From"] = settings.DEFAULT_FROM_EMAIL
                msg["To"] = f"bench{i}@efnet-bench.example"
                msg["X-Bench-Seq"] = str(i)
                msg.set_content(BODY)
                smtp.send_message(msg)
        elapsed = time.perf_counter() - start
        total, _ = server.counts()
        if total != n:
            raise CommandError(f"baseline: the server counted {total} of {n}")
        return n / elapsed

    def _setup(self, n: int):
        from efnet.models import User
        from members.models import Member, SalesOffice
        from notices import services
        from notices.models import Notice
        from tracking.models import AccountStatus, Campaign

        offices = list(SalesOffice.objects.all())
        campaign = Campaign.objects.create(name="ベンチマーク", started_on=datetime.date(2026, 6, 1))
        members = [
            Member(
                number=f"{900000 + i}",
                registered_on=datetime.date(2025, 10, 1),
                name=f"ベンチ商事{i}",
                name_kana=f"ベンチショウジ{i}",
                office=offices[i % len(offices)],
                biglobe_user_id=f"bench{i:06d}",
                biglobe_password=f"Bench{i:06d}pw",
                email=f"bench{i}@efnet-bench.example",
            )
            for i in range(n)
        ]
        Member.objects.bulk_create(members, batch_size=1000)
        AccountStatus.objects.bulk_create(
            [AccountStatus(campaign=campaign, member=m) for m in Member.objects.all()], batch_size=1000
        )
        author = User.objects.create_user("bench-author")
        approver = User.objects.create_user("bench-approver")
        notice = services.notice_create(
            actor=author,
            campaign=campaign,
            edition=2,
            title="【重要】BIGLOBE パスワード変更のお願い",
            date=datetime.date(2026, 6, 25),
            body="{{ 会社名 }} 様\n" + BODY + "{{ 未完了アカウント }}\n{{ 本人報告URL }}\n",
        )
        # Approval is the one audited path that freezes deliveries (as in production); only the author and
        # approver differ from a real run.
        services.notice_approve(notice=notice, actor=approver)
        Notice.objects.filter(pk=notice.pk).update(state=Notice.State.SENDING)
        notice.refresh_from_db()
        return notice

    def _worker(self, queue: str, db: str, port: int, batch_size: int) -> subprocess.Popen:
        parts = urlsplit(os.environ["REDIS_URL"])
        env = {
            **os.environ,
            "DATABASE_URL": _db_url(db),
            "REDIS_URL": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "NOTICES_RATE_PER_SECOND": "0",
            "NOTICES_BATCH_SIZE": str(batch_size),
            "LOG_LEVEL": "WARNING",
        }
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "efnet",
                "worker",
                "--pool=solo",
                "-Q",
                queue,
                "-n",
                f"{queue}-{uuid.uuid4().hex[:4]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ],  # fmt: skip
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_ready(self, procs, queue: str) -> None:
        from efnet.celery import app

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1.0) or []
            ours = [name for reply in replies for name in reply if name.startswith(queue)]
            if len(ours) >= len(procs):
                return
            if any(p.poll() is not None for p in procs):
                raise CommandError("a worker exited at start")
        raise CommandError("workers did not start")

    def _run(self, notice, queue: str, server: SmtpServer, timeout: int, batch_size: int) -> dict:
        from efnet.celery import app
        from notices import outbox
        from notices.models import Delivery

        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        with self.settings_override(NOTICES_BATCH_SIZE=batch_size):
            start = time.perf_counter()
            outbox.dispatch(notice.pk)
            deadline = start + timeout
            while time.perf_counter() < deadline:
                if not notice.deliveries.filter(status__in=["queued", "sending"]).exists():
                    break
                time.sleep(0.25)
            elapsed = time.perf_counter() - start
        statuses = Counter(notice.deliveries.values_list("status", flat=True))
        total, counts = server.counts()
        sent_ids = {str(i) for i in notice.deliveries.filter(status=Delivery.Status.SENT).values_list("id", flat=True)}
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        lost = len(sent_ids - set(counts)) + statuses.get("queued", 0) + statuses.get("sending", 0)
        sent = statuses.get("sent", 0)
        return {
            "messages": total,
            "sent": sent,
            "seconds": round(elapsed, 2),
            "rate_per_s": round(sent / elapsed, 1) if elapsed else 0,
            "duplicates": duplicates,
            "lost": lost,
            "statuses": dict(statuses),
        }

    def settings_override(self, **kwargs):
        from django.test import override_settings

        return override_settings(**kwargs)

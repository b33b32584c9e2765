"""`make prod-smoke`: the production stack, run for real on this machine, driven through HTTPS.

Starts, from the files in deploy/ (the nginx site, gunicorn's settings, the Procfile the systemd units mirror):
nginx with TLS on 127.0.0.1 (a certificate made here), gunicorn behind it on a unix socket, a Celery worker and
Celery beat as separate processes, on PostgreSQL (a fresh database) and Redis, with an SMTP server on loopback
(aiosmtpd). The worker and beat run in working directories of their own, with their own var dir: files pass
between worker and web through the database only, as between two machines.

Then, as staff would through a browser: log in (password + TOTP), search a member, issue a card, run a batch
reissue and download it, write a notice, have a second admin approve it, send it, read a message at the SMTP
server, follow its self-report link (it must use the public base URL) and report; and check HSTS, CSP, secure
cookies, request ids and /healthz on real TLS responses; back the database up while all runs and restore it
into a new database. Finally stop everything and check it all stopped.

Any failed step stops the run with ``PROD-SMOKE FAILED at <step>: <why>`` and the tail of every process's log.
Needs: nginx, PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import email
import email.policy
import hashlib
import hmac
import html
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
HOST = "efnet.smoke.test"  # the public name: not localhost, which production refuses as EFNET_BASE_URL
DEMO_PASSWORD = "demo-efnet-2026"  # noqa: S105  (seed_demo's documented, fictitious login)


class SmokeFailure(Exception):
    pass


def fail(message: str):
    raise SmokeFailure(message)


def check(condition, message: str) -> None:
    if not condition:
        fail(message)


# --- TLS -------------------------------------------------------------------------------------------------------


def make_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for HOST signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject, issuer, public_key, signing_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "efnet prod-smoke CA")])
    ca_cert = build(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]), ca_name, key.public_key(), ca_key, ca=False
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths[2].chmod(0o600)
    return paths


# --- an HTTPS client that connects to 127.0.0.1 but speaks to HOST (SNI, certificate check, Host header) --------


class Response:
    def __init__(self, raw: http.client.HTTPResponse, body: bytes):
        self.status = raw.status
        self.headers = raw.headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


class Browser:
    def __init__(self, *, port: int, ca_file: Path):
        self.port = port
        self.context = ssl.create_default_context(cafile=str(ca_file))
        self.cookies: dict[str, str] = {}
        self.set_cookie_lines: list[str] = []

    def request(self, method: str, path: str, data: dict | list | None = None, headers: dict | None = None) -> Response:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        tls = self.context.wrap_socket(sock, server_hostname=HOST)  # verifies the certificate for HOST
        conn = http.client.HTTPSConnection(HOST, self.port, timeout=60)
        conn.sock = tls
        origin = f"https://{HOST}:{self.port}"
        sent = {"Host": f"{HOST}:{self.port}", "User-Agent": "efnet-prod-smoke"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            sent.update(
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": origin,
                    "Referer": origin + path,
                }
            )
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        raw = conn.getresponse()
        content = raw.read()
        conn.close()
        for line in raw.headers.get_all("Set-Cookie") or []:
            self.set_cookie_lines.append(line)
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=Thu, 01 Jan 1970" in line or value in ('""', ""):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return Response(raw, content)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post_form(self, path: str, page_path: str, data: dict) -> Response:
        """POST the way a browser submits a form: the CSRF token from the form page, Origin and Referer."""
        page = self.get(page_path)
        check(page.status == 200, f"GET {page_path}: {page.status}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        check(token is not None, f"no CSRF token on {page_path}")
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": token.group(1)})

    def post_confirmed(self, path: str, page_path: str) -> Response:
        """An action that asks first (承認する, 送信を開始): the button shows the confirmation page with its
        counts, whose form then posts ``confirmed`` with the version of the notice it showed."""
        shown = self.post_form(path, page_path, {})
        check(shown.status == 200, f"POST {path} without confirmation: {shown.status}, not the confirmation page")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown.text)
        version = re.search(r'name="version" value="([^"]+)"', shown.text)
        check(token is not None and version is not None, f"no confirmation form at {path}")
        return self.request(
            "POST",
            path,
            {"confirmed": "1", "version": html.unescape(version.group(1)), "csrfmiddlewaretoken": token.group(1)},
        )


def totp(hex_key: str, *, at: float | None = None) -> str:
    """RFC 6238, as django-otp's TOTPDevice (30 s, 6 digits, SHA-1)."""
    counter = int((at or time.time()) // 30)
    digest = hmac.new(bytes.fromhex(hex_key), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


# --- the stack ---------------------------------------------------------------------------------------------------


class Process:
    def __init__(self, name: str, cmd: list[str], *, cwd: Path, env: dict, log: Path, stop_signal=signal.SIGTERM):
        self.name, self.log, self.stop_signal = name, log, stop_signal
        self.handle = open(log, "wb")  # noqa: SIM115  (closed in stop)
        self.popen = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=self.handle, stderr=subprocess.STDOUT, process_group=0
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def group_alive(self) -> bool:
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 60) -> int | None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, self.stop_signal)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        # Anything left in the group (a child the main process failed to stop) is killed, and counted.
        deadline = time.monotonic() + 10
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        leftover = self.group_alive()
        if leftover or code is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self.handle.close()
        return None if leftover else code


def procfile() -> dict[str, str]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def render_site(*, listen: str, socket_path: Path, cert: Path, key: Path) -> str:
    site = (DEPLOY / "nginx" / "efnet.conf").read_text()
    values = {"LISTEN": listen, "SERVER_NAME": HOST, "TLS_CERT": cert, "TLS_KEY": key, "SOCKET": socket_path}
    for name, value in values.items():
        site = site.replace(f"@{name}@", str(value))
    left = re.findall(r"@[A-Z_]+@", site)
    check(not left, f"deploy/nginx/efnet.conf has placeholders the smoke test does not fill: {left}")
    return site


def nginx_main_conf(prefix: Path, site: Path) -> str:
    """The smoke test's own nginx.conf (the part Debian's /etc/nginx/nginx.conf plays in production): its own
    pid file and temp folders, so it needs no root and touches nothing of the system's nginx."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must reach the socket in our temp dir
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
{temp}
    include {site};
}}
"""


class Smoke:
    def __init__(self, *, port: int, smtp_port: int, admin_db_url: str, redis_url: str, keep: bool):
        self.port, self.smtp_port = port, smtp_port
        self.admin_db_url, self.redis_url, self.keep = admin_db_url.rstrip("/"), redis_url, keep
        self.base_url = f"https://{HOST}:{port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="efnet-prod-smoke-"))
        self.db_name = f"efnet_prod_smoke_{os.getpid()}"
        self.processes: dict[str, Process] = {}
        self.smtp = None
        self.received: list[email.message.EmailMessage] = []
        self.started = time.monotonic()
        self.step_name = "start"
        self.figures: dict = {}

    # -- helpers --
    def step(self, name: str):
        self.step_name = name
        print(f"[{time.monotonic() - self.started:6.1f}s] {name}", flush=True)

    def env(self, *, var_dir: Path) -> dict:
        return {
            "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/bin",
            "HOME": str(self.tmp),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "efnet.settings",
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "FIELD_ENCRYPTION_KEYS": self.field_keys,
            "DATABASE_URL": f"{self.admin_db_url}/{self.db_name}",
            "REDIS_URL": self.redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "EFNET_BASE_URL": self.base_url,
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": self.base_url,
            "BEHIND_PROXY": "1",
            "LOG_FORMAT": "json",
            "EFNET_VAR_DIR": str(var_dir),
            "EFNET_SOCKET": str(self.socket),
            "EFNET_BEAT_SCHEDULE": str(self.tmp / "beat" / "celerybeat-schedule"),
            "WEB_CONCURRENCY": "2",
            "NOTICES_RATE_PER_SECOND": "0",
        }

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(var_dir=self.tmp / "web-var"),
            capture_output=True,
            text=True,
            timeout=600,
        )
        check(out.returncode == 0, f"manage.py {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
        return out.stdout + out.stderr

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{self.admin_db_url}/{self.db_name}", autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def wait_for(self, what: str, predicate, timeout: float = 90, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                check(proc.alive(), f"{name} exited ({proc.popen.returncode}) while waiting for {what}")
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        fail(f"timed out after {timeout:.0f} s waiting for {what}")

    def login(self, username: str) -> Browser:
        browser = Browser(port=self.port, ca_file=self.ca)
        response = browser.post_form("/login/", "/login/", {"username": username, "password": DEMO_PASSWORD})
        check(
            response.status == 302 and "/login/verify/" in response.header("Location"),
            f"password step: {response.status}",
        )
        (key,) = self.sql(
            "SELECT d.key FROM otp_totp_totpdevice d JOIN efnet_user u ON u.id = d.user_id WHERE u.username = %s",
            username,
        )[0]
        response = browser.post_form("/login/verify/", "/login/verify/", {"token": totp(key)})
        check(response.status == 302, f"TOTP step for {username}: {response.status} {response.text[:300]}")
        check(browser.get("/members/").status == 200, f"{username} is not logged in after the TOTP step")
        return browser

    # -- the run --
    def run(self) -> None:
        for tool in ("nginx",):
            check(
                shutil.which(tool, path="/usr/sbin:/usr/bin"), f"{tool} is not installed (make prod-smoke installs it)"
            )
        for tool in ("gunicorn", "celery"):
            check((VENV_BIN / tool).exists(), f"{tool} is not installed in {VENV_BIN} (requirements.txt)")
        self.setup()
        self.start_stack()
        self.exercise()
        self.backup_and_restore()
        self.stop_stack()

    def setup(self) -> None:
        self.step("keys, certificate, database")
        from efnet.crypto import generate_key

        self.secret_key = secrets.token_urlsafe(50)
        self.field_keys = generate_key("smoke1")
        self.ca, self.cert, self.key = make_certificate(self.tmp)
        self.socket = self.tmp / "run" / "gunicorn.sock"
        for folder in ("run", "worker-home", "beat", "nginx/tmp", "logs", "web-var", "worker-var", "beat-var"):
            (self.tmp / folder).mkdir(parents=True, exist_ok=True)
        import psycopg
        import redis

        try:
            with psycopg.connect(f"{self.admin_db_url}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
        except psycopg.OperationalError as exc:
            fail(f"PostgreSQL is not reachable at {self.admin_db_url}: {exc}")
        try:
            redis.Redis.from_url(self.redis_url).flushdb()
        except redis.RedisError as exc:
            fail(f"Redis is not reachable at {self.redis_url}: {type(exc).__name__}")

        self.step("manage.py check --deploy, migrate, collectstatic, seed (as at installation)")
        self.manage("check", "--deploy", "--fail-level", "WARNING")
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput", "--clear")
        self.manage("seed_demo", "--members", "60", "--i-know-this-is-not-production")

    def start_stack(self) -> None:
        self.step("SMTP server on loopback (aiosmtpd)")
        from aiosmtpd.controller import Controller

        received = self.received

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's name)
                received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.smtp = Controller(Handler(), hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()

        self.step("gunicorn (unix socket), Celery worker and beat (own directories), nginx (TLS)")
        procs = procfile()
        check(set(procs) == {"web", "worker", "beat"}, f"deploy/Procfile names {sorted(procs)}")
        logs = self.tmp / "logs"
        places = {
            "web": (ROOT, "web-var"),
            "worker": (self.tmp / "worker-home", "worker-var"),
            "beat": (self.tmp / "beat", "beat-var"),
        }
        for name, command in procs.items():
            cwd, var = places[name]
            self.processes[name] = Process(
                name,
                ["bash", "-c", f"exec {command}"],
                cwd=cwd,
                env=self.env(var_dir=self.tmp / var),
                log=logs / f"{name}.log",
            )
        site = self.tmp / "nginx" / "efnet.conf"
        site.write_text(
            render_site(listen=f"127.0.0.1:{self.port}", socket_path=self.socket, cert=self.cert, key=self.key)
        )
        main = self.tmp / "nginx" / "nginx.conf"
        main.write_text(nginx_main_conf(self.tmp / "nginx", site))
        test = subprocess.run(
            ["nginx", "-t", "-p", str(self.tmp / "nginx"), "-c", str(main), "-e", "stderr"],
            capture_output=True,
            text=True,
        )
        check(test.returncode == 0, f"nginx -t refused the configuration:\n{test.stderr}")
        self.wait_for("gunicorn's socket", self.socket.exists, timeout=60)
        self.processes["nginx"] = Process(
            "nginx",
            [
                "nginx",
                "-p",
                str(self.tmp / "nginx"),
                "-c",
                str(main),
                "-e",
                str(logs / "nginx-error.log"),
                "-g",
                "daemon off;",
            ],
            cwd=self.tmp,
            env={"PATH": "/usr/sbin:/usr/bin:/bin"},
            log=logs / "nginx.log",
            stop_signal=signal.SIGQUIT,  # graceful: finish the requests in flight
        )

        self.step("/healthz through nginx until database, broker, beat heartbeat and outbox are ok")
        probe = Browser(port=self.port, ca_file=self.ca)

        def healthy():
            try:
                response = probe.get("/healthz")
            except OSError:
                return None
            return response if response.status == 200 else None

        response = self.wait_for(
            "a healthy /healthz (beat's first heartbeat run by the worker)", healthy, timeout=120, interval=1
        )
        body = json.loads(response.body)
        check(body["status"] == "ok" and body["checks"]["broker"]["transport"] == "redis", f"/healthz: {body}")
        check(self.secret_key not in response.text and "postgres" not in response.text, "/healthz shows configuration")
        for name, expected in (("worker", " ready."), ("beat", "beat: Starting")):
            lines = [line for line in self.processes[name].log.read_text().splitlines() if line.startswith("{")]
            check(
                any(expected in json.loads(line)["message"] for line in lines),
                f"the {name} does not log through the project's JSON handler (LOG_FORMAT=json)",
            )

    def exercise(self) -> None:
        self.step("TLS responses: HSTS, CSP, secure cookies, request id")
        anonymous = Browser(port=self.port, ca_file=self.ca)
        page = anonymous.get("/login/")
        check(page.status == 200, f"GET /login/: {page.status}")
        hsts = page.header("Strict-Transport-Security")
        check("max-age=31536000" in hsts and "includeSubDomains" in hsts, f"HSTS header: {hsts!r}")
        csp = page.header("Content-Security-Policy")
        check("default-src 'self'" in csp and "frame-ancestors 'none'" in csp, f"CSP header: {csp!r}")
        check(page.header("X-Frame-Options") == "DENY", "X-Frame-Options is not DENY")
        check(page.header("Server") in ("nginx", ""), f"Server header names a version: {page.header('Server')!r}")
        request_id = page.header("X-Request-ID")
        check(re.fullmatch(r"[0-9a-f]{32}", request_id), f"X-Request-ID is not nginx's $request_id: {request_id!r}")
        css = re.search(r'href="(/static/[^"]+\.css)"', page.text)
        check(css is not None, "the login page links no stylesheet")
        static = anonymous.get(css.group(1))
        check(static.status == 200 and "max-age" in static.header("Cache-Control"), f"static file: {static.status}")

        self.step("log in: clerk of 大阪 (password + TOTP)")
        clerk = self.login("osaka")
        session_cookies = [line for line in clerk.set_cookie_lines if line.startswith(("sessionid=", "csrftoken="))]
        check(session_cookies, "no session or CSRF cookie was set")
        for line in session_cookies:
            check("; Secure" in line, f"cookie without Secure: {line.split('=')[0]}")
        check(
            any(line.startswith("sessionid=") and "HttpOnly" in line for line in session_cookies),
            "session cookie not HttpOnly",
        )
        web_log = self.processes["web"].log.read_text(errors="replace")
        logged = [json.loads(line) for line in web_log.splitlines() if line.startswith("{")]
        check(
            any(e.get("request_id") == request_id and "GET /login/ 200" in e["message"] for e in logged),
            "the web log has no JSON line for GET /login/ with nginx's request id",
        )

        self.step("search a member of the clerk's office")
        (member_id, number, office_id) = self.sql(
            "SELECT m.id, m.number, m.office_id FROM members_member m JOIN efnet_user u ON u.office_id = m.office_id"
            " WHERE u.username = 'osaka' AND m.is_active ORDER BY m.number LIMIT 1"
        )[0]
        found = clerk.get(f"/members/?q={number}")
        # One hit goes straight to the member's page.
        check(found.status == 302 and found.header("Location") == f"/members/{member_id}/", f"search: {found.status}")
        page = clerk.get(f"/members/{member_id}/")
        check(page.status == 200 and number in page.text, f"the member's page: {page.status}")
        listing = clerk.get(f"/members/?office={office_id}")
        check(listing.status == 200 and number in listing.text, f"the office's member list: {listing.status}")

        self.step("issue the member's card (PDF)")
        card = clerk.post_form(
            f"/documents/members/{member_id}/card/", f"/members/{member_id}/", {"reason": "紛失再発行"}
        )
        check(
            card.status == 200 and card.body.startswith(b"%PDF"),
            f"card issue: {card.status} {card.header('Content-Type')}",
        )
        check("no-store" in card.header("Cache-Control"), "the card PDF is cacheable")

        self.step("batch reissue for the office: rendered by the worker (other directory), downloaded through the web")
        started = clerk.post_form(
            "/documents/batches/", "/documents/batches/", {"office": office_id, "reason": "紛失再発行"}
        )
        location = started.header("Location")
        match = re.search(r"/documents/batches/(\d+)/", location)
        check(started.status == 302 and match, f"batch request: {started.status} {started.text[:300]}")
        job_id = int(match.group(1))
        status, done, error = self.wait_for(
            "the batch to finish",
            lambda: next(
                (
                    r
                    for r in self.sql("SELECT status, done_count, error FROM documents_batchjob WHERE id = %s", job_id)
                    if r[0] not in ("queued", "running")
                ),
                None,
            ),
            timeout=180,
        )
        check(status == "done", f"batch {job_id} ended {status}: {error}")
        download = clerk.post_form(f"/documents/batches/{job_id}/download/", f"/documents/batches/{job_id}/", {})
        check(
            download.status == 200 and download.body.startswith(b"%PDF"),
            f"batch download: {download.status} {download.header('Content-Type')}",
        )
        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(download.body)).pages)
        check(pages == done, f"the batch PDF has {pages} pages for {done} cards")
        self.figures["batch_cards"] = done
        check(not list((self.tmp / "worker-home").iterdir()), "the worker wrote files into its working directory")
        (left,) = self.sql(
            "SELECT count(*) FROM documents_storedrecord WHERE name = %s", f"{self.batch_uuid(job_id)}.bin"
        )[0]
        check(left == 0, "the downloaded batch file is still stored")

        self.step("notice: an admin writes it from the 第2報 template, a second admin approves, the first sends")
        admin = self.login("admin")
        listing = admin.get("/notices/")
        template = re.search(r'name="template"[^>]*>\s*<option value="(\d+)"', listing.text)
        campaign = re.search(r'name="campaign"[^>]*>\s*<option value="(\d+)"', listing.text)
        check(template and campaign, "the notice list offers no template or campaign to copy")
        created = admin.post_form(
            "/notices/copy/",
            "/notices/",
            {"template": template.group(1), "campaign": campaign.group(1), "edition": "2"},
        )
        match = re.search(r"/notices/(\d+)/", created.header("Location"))
        check(created.status == 302 and match, f"copying the template: {created.status}")
        notice_id = int(match.group(1))
        approver = self.login("admin2")
        approved = approver.post_confirmed(f"/notices/{notice_id}/approve/", f"/notices/{notice_id}/")
        check(approved.status == 302, f"approve: {approved.status}")
        (state,) = self.sql("SELECT state FROM notices_notice WHERE id = %s", notice_id)[0]
        check(state == "approved", f"the notice is {state} after the second admin's approval")
        (emails,) = self.sql(
            "SELECT count(*) FROM notices_delivery WHERE notice_id = %s AND channel = 'email'", notice_id
        )[0]
        check(emails > 0, "the approved notice has no email deliveries")
        sent = admin.post_confirmed(f"/notices/{notice_id}/send/", f"/notices/{notice_id}/")
        check(sent.status == 302, f"send: {sent.status}")
        self.wait_for(
            f"{emails} messages at the SMTP server",
            lambda: (
                len(self.received) >= emails
                and self.sql(
                    "SELECT count(*) FROM notices_delivery"
                    " WHERE notice_id = %s AND channel = 'email' AND status = 'sent'",
                    notice_id,
                )[0][0]
                == emails
            ),
            timeout=120,
        )
        time.sleep(1)  # anything sent twice would arrive now
        recipients = Counter(str(m["To"]) for m in self.received)
        check(
            len(self.received) == emails and max(recipients.values()) == 1,
            f"{len(self.received)} messages for {emails} deliveries: {recipients.most_common(2)}",
        )
        self.figures["messages"] = emails

        self.step("the self-report link in a message: public base URL, works through nginx")
        message = self.received[0]
        text = message.get_body(preferencelist=("plain",)).get_content()
        links = re.findall(r"https?://[^\s<>\"]+/tracking/r/[^\s<>\"]+", text)
        check(links, "the message has no self-report link")
        link = links[0]
        check(
            link.startswith(self.base_url + "/tracking/r/"),
            f"the link does not use EFNET_BASE_URL: {link.split('/tracking/')[0]}",
        )
        member = Browser(port=self.port, ca_file=self.ca)
        path = urllib.parse.urlsplit(link).path
        form = member.get(path)
        check(form.status == 200, f"the self-report page: {form.status}")
        accounts = re.findall(r'name="account" value="(\d+)"', form.text)
        check(accounts, "the self-report page offers no account to report")
        reported = member.post_form(path, path, {"account": accounts[0]})
        check(reported.status in (200, 302), f"reporting: {reported.status}")
        (status, source) = self.sql(
            "SELECT status, source FROM tracking_accountstatus WHERE id = %s", int(accounts[0])
        )[0]
        check(status == "完了", f"the reported account is {status} ({source})")

        self.step("/healthz after the run")
        response = anonymous.get("/healthz")
        body = json.loads(response.body)
        check(response.status == 200 and body["checks"]["outbox"]["oldest_queued_seconds"] is None, f"/healthz: {body}")

    def backup_and_restore(self) -> None:
        self.step("manage.py backup while the stack runs, restore into a new database, every value decrypts")
        file = self.tmp / "efnet-backup.sql.gz"
        out = self.manage("backup", "--output", str(file))
        check("no key material" in out, f"backup: {out}")
        import psycopg

        restored = f"{self.db_name}_restored"
        with psycopg.connect(f"{self.admin_db_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{restored}"')
        try:
            env = {**self.env(var_dir=self.tmp / "web-var"), "DATABASE_URL": f"{self.admin_db_url}/{restored}"}
            done = subprocess.run(
                [sys.executable, "manage.py", "restore", str(file)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            check(done.returncode == 0, f"restore: {done.stdout}\n{done.stderr}")
            total = re.search(r"all (\d+) encrypted values decrypt", done.stdout)
            check(total is not None, f"restore printed no count: {done.stdout}")
            (members,) = self.sql("SELECT count(*) FROM members_member WHERE biglobe_password <> ''")[0]
            check(f"members.Member.biglobe_password: {members} decrypted" in done.stdout, done.stdout)
            self.figures["backup_bytes"] = file.stat().st_size
            self.figures["restored_values_decrypted"] = int(total.group(1))
        finally:
            with psycopg.connect(f"{self.admin_db_url}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')

    def batch_uuid(self, job_id: int) -> str:
        return str(self.sql("SELECT uuid FROM documents_batchjob WHERE id = %s", job_id)[0][0])

    def stop_stack(self) -> None:
        self.step("stop everything (nginx QUIT, gunicorn, worker and beat TERM) and check it all stopped")
        codes = {}
        for name in ("nginx", "web", "beat", "worker"):
            codes[name] = self.processes.pop(name).stop()
        bad = {name: code for name, code in codes.items() if code != 0}
        check(not bad, f"not a clean stop (exit codes; None: had to be killed): {bad}")
        check(not self.socket.exists(), "gunicorn left its socket behind")

    def cleanup(self) -> None:
        for proc in self.processes.values():
            proc.stop(timeout=20)
        if self.smtp is not None:
            self.smtp.stop()
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(f"{self.admin_db_url}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("SMOKE_PORT", "8743")))
    parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("SMOKE_SMTP_PORT", "8744")))
    parser.add_argument(
        "--postgres", default=os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--redis", default=os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, configuration)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    smoke = Smoke(
        port=args.port, smtp_port=args.smtp_port, admin_db_url=args.postgres, redis_url=args.redis, keep=args.keep
    )
    try:
        smoke.run()
    except (SmokeFailure, Exception) as exc:
        kind = "" if isinstance(exc, SmokeFailure) else f"{type(exc).__name__}: "
        print(f"\nPROD-SMOKE FAILED at {smoke.step_name!r}: {kind}{exc}", file=sys.stderr)
        for name, proc in smoke.processes.items():
            print(
                f"--- {name} ({'running' if proc.alive() else f'exited {proc.popen.returncode}'}), last lines:\n"
                + proc.tail(),
                file=sys.stderr,
            )
        smoke.keep = True
        smoke.cleanup()
        print(f"(logs and configuration kept in {smoke.tmp})", file=sys.stderr)
        return 1
    smoke.cleanup()
    seconds = time.monotonic() - smoke.started
    print(f"PROD-SMOKE OK in {seconds:.0f} s: {json.dumps(smoke.figures, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

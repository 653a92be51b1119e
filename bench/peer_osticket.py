"""osTicket v1.18.1 as the peer of the intake benchmark: unpacked from the project's shared
tarball into the bench data folder (never into the repository), served by its own nginx
(127.0.0.1 only) and php-fpm (a static pool of 4) on the machine's MariaDB, installed by
driving its web installer with HTTP requests, then set up for an offline API.

`Peer.start()` raises `Unavailable` with a sentence saying what is missing; the benchmark
then skips osTicket and says why.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TARBALL = "osticket-1.18.1.tar.xz"
APT_PACKAGES = [
    "nginx",
    "php-fpm",
    "php-mysql",
    "php-gd",
    "php-imap",
    "php-xml",
    "php-mbstring",
    "php-intl",
    "php-apcu",
]
DB_NAME = "qingquan_peer_osticket"
DB_USER = "qq_peer"
DB_PASSWORD = "qq-peer-bench-96390"  # a throwaway database on 127.0.0.1 only
PREFIX = "ost_"
API_KEY = "QINGQUANBENCH96390PEERKEY0000001"


class Unavailable(Exception):
    """osTicket cannot be had on this machine; the message says what is missing."""


def tarball() -> Path:
    """QINGQUAN_PEER_TARBALL, else ../shared/peer beside the checkout, else /work/shared/peer."""
    explicit = os.environ.get("QINGQUAN_PEER_TARBALL")
    candidates = (
        [Path(explicit)]
        if explicit
        else [ROOT.parent / "shared" / "peer" / TARBALL, Path("/work/shared/peer") / TARBALL]
    )
    for path in candidates:
        if path.is_file():
            return path
    raise Unavailable(
        "osTicket tarball not found (looked at "
        + ", ".join(str(p) for p in candidates)
        + "; set QINGQUAN_PEER_TARBALL)"
    )


def mysql(sql: str, *, database: str | None = None) -> list[list[str]]:
    """Run SQL as MariaDB's root on 127.0.0.1:3306 with the `mariadb` client."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        raise Unavailable("no mariadb/mysql client on PATH")
    host = os.environ.get("QINGQUAN_PEER_MYSQL_HOST", "127.0.0.1")
    port = os.environ.get("QINGQUAN_PEER_MYSQL_PORT", "3306")
    command = [client, f"-h{host}", f"-P{port}", "-uroot", "-N", "-B", "-e", sql]
    if database:
        command.append(database)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise Unavailable(f"MariaDB on {host}:{port} as root: {done.stderr.strip()[:300]}")
    return [line.split("\t") for line in done.stdout.splitlines()]


def _php_fpm() -> str | None:
    for name in ("php-fpm", "php-fpm8.2", "php-fpm8.3", "php-fpm8.1"):
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    return None


def _nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def ensure_packages() -> None:
    """nginx, php-fpm and PHP's extensions; installed with apt-get when running as root."""
    php_fpm = _php_fpm()
    missing_ext = []
    php = shutil.which("php")
    if php_fpm and php:
        loaded = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout
        missing_ext = [e for e in ("mysqli", "mbstring", "intl", "gd") if e not in loaded]
    if _nginx() and php_fpm and not missing_ext:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable(
            "nginx, php-fpm and PHP extensions are missing and cannot be installed (needs root "
            "and apt-get): apt-get install " + " ".join(APT_PACKAGES)
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", "install", "-y", "-q", *APT_PACKAGES],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0 or not _nginx() or not _php_fpm():
        raise Unavailable(f"apt-get install failed: {done.stderr.strip()[-300:]}")


@dataclass
class Peer:
    """One osTicket installation in `home`, served on 127.0.0.1:`port`."""

    home: Path
    port: int
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def webroot(self) -> Path:
        return self.home / "osticket"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Unpack, configure and start nginx + php-fpm; install osTicket on first use."""
        source = tarball()
        ensure_packages()
        mysql("SELECT 1")
        self.home.mkdir(parents=True, exist_ok=True)
        installed = self._installed()
        if not installed or not (self.webroot / "include" / "ost-config.php").exists():
            self._unpack(source)
            installed = False
        self._write_configs()
        self._start_servers()
        if not installed:
            self._install()
        self._configure_offline()

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self._processes.clear()

    # -- set-up ---------------------------------------------------------------------------

    def _installed(self) -> bool:
        rows = mysql(
            "SELECT COUNT(*) FROM information_schema.tables "
            f"WHERE table_schema = '{DB_NAME}' AND table_name = '{PREFIX}config'"
        )
        return rows[0][0] != "0"

    def _unpack(self, source: Path) -> None:
        if self.webroot.exists():
            shutil.rmtree(self.webroot)
        staging = self.home / "unpack"
        if staging.exists():
            shutil.rmtree(staging)
        with tarfile.open(source) as archive:
            archive.extractall(staging, filter="data")
        (top,) = list(staging.iterdir())
        top.rename(self.webroot)
        staging.rmdir()
        include = self.webroot / "include"
        shutil.copy(include / "ost-sampleconfig.php", include / "ost-config.php")
        # Written by the installer (which runs as php-fpm's user), read-only afterwards.
        (include / "ost-config.php").chmod(0o666)
        mysql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    def _write_configs(self) -> None:
        root = os.geteuid() == 0
        run = self.home / "run"
        for sub in ("body", "fastcgi", "proxy", "uwsgi", "scgi"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        if root:
            shutil.chown(run, "www-data", "www-data")
            for child in run.iterdir():
                shutil.chown(child, "www-data", "www-data")
        socket = run / "php-fpm.sock"
        user = "user = www-data\ngroup = www-data\nlisten.owner = www-data\n" if root else ""
        (self.home / "php-fpm.conf").write_text(
            f"""[global]
pid = {run}/php-fpm.pid
error_log = {run}/php-fpm.log
daemonize = no

[osticket]
{user}listen = {socket}
listen.mode = 0666
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_value[error_log] = {run}/php-errors.log
php_admin_flag[log_errors] = on
php_admin_flag[display_errors] = off
"""
        )
        fastcgi = f"""include /etc/nginx/fastcgi_params;
            fastcgi_pass unix:{socket};"""
        (self.home / "nginx.conf").write_text(
            f"""{"user www-data;" if root else ""}
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    fastcgi_temp_path {run}/fastcgi;
    proxy_temp_path {run}/proxy;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.webroot};
        index index.php;
        location = /api/tickets.json {{
            {fastcgi}
            fastcgi_param SCRIPT_FILENAME {self.webroot}/api/http.php;
            fastcgi_param SCRIPT_NAME /api/http.php;
            fastcgi_param PATH_INFO /tickets.json;
        }}
        location ~ \\.php$ {{
            {fastcgi}
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        }}
    }}
}}
"""
        )

    def _start_servers(self) -> None:
        php_fpm, nginx = _php_fpm(), _nginx()
        assert php_fpm and nginx
        run = self.home / "run"
        log = (run / "servers.log").open("ab")
        fpm = [php_fpm, "-F", "-y", str(self.home / "php-fpm.conf")]
        self._processes.append(subprocess.Popen(fpm, stdout=log, stderr=log))
        self._processes.append(
            subprocess.Popen(
                [nginx, "-c", str(self.home / "nginx.conf"), "-e", str(run / "nginx-error.log")],
                stdout=log,
                stderr=log,
            )
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    self.stop()
                    raise Unavailable(f"nginx/php-fpm exited at start; see {run}/servers.log")
            try:
                httpx.get(f"{self.base_url}/setup/", timeout=2)
                if (run / "php-fpm.sock").exists():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise Unavailable(f"nginx on 127.0.0.1:{self.port} did not answer; see {run}")

    def _install(self) -> None:
        """The web installer's three steps (prereq, config, install) with one cookie jar."""
        mysql(
            f"CREATE DATABASE IF NOT EXISTS {DB_NAME} CHARACTER SET utf8mb4;"
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}';"
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}';"
            f"GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'127.0.0.1';"
            f"GRANT ALL ON {DB_NAME}.* TO '{DB_USER}'@'localhost';"
        )
        url = f"{self.base_url}/setup/install.php"
        with httpx.Client(timeout=300, follow_redirects=True) as http:
            http.get(url)
            http.post(url, data={"s": "prereq"})
            http.post(url, data={"s": "config"})
            password = "Bench-" + secrets.token_urlsafe(12)
            answer = http.post(
                url,
                data={
                    "s": "install",
                    "name": "Qingquan bench peer",
                    "email": "helpdesk@bench.example.com",
                    "lang_id": "en_US",
                    "fname": "Bench",
                    "lname": "Admin",
                    "admin_email": "admin@bench.example.com",
                    "username": "benchadmin",
                    "passwd": password,
                    "passwd2": password,
                    "prefix": PREFIX,
                    "dbhost": "127.0.0.1",
                    "dbname": DB_NAME,
                    "dbuser": DB_USER,
                    "dbpass": DB_PASSWORD,
                    "timezone": "Asia/Shanghai",
                },
            )
        if not self._installed():
            raise Unavailable(
                f"osTicket's installer did not finish (HTTP {answer.status_code}); "
                f"see {self.home / 'run'}"
            )
        (self.webroot / "include" / "ost-config.php").chmod(0o644)
        shutil.rmtree(self.webroot / "setup")

    def _configure_offline(self) -> None:
        """No DNS (no e-mail address checks), no alerts or auto-replies, an API key for
        127.0.0.1 that may create tickets."""
        mysql(
            f"UPDATE {PREFIX}config SET value = '0' WHERE namespace = 'core' AND ("
            "`key` = 'verify_email_addrs' OR `key` LIKE '%alert_active' "
            "OR `key` LIKE '%autoresponder%' OR `key` LIKE '%notice_active');"
            f"INSERT INTO {PREFIX}config (namespace, `key`, value) VALUES "
            "('core', 'verify_email_addrs', '0'), ('core', 'message_autoresponder_collabs', '0') "
            "ON DUPLICATE KEY UPDATE value = '0';"
            f"INSERT INTO {PREFIX}api_key (isactive, ipaddr, apikey, can_create_tickets, "
            "can_exec_cron, notes, updated, created) SELECT 1, '127.0.0.1', "
            f"'{API_KEY}', 1, 0, 'Qingquan bench', NOW(), NOW() FROM DUAL WHERE NOT EXISTS "
            f"(SELECT 1 FROM {PREFIX}api_key WHERE apikey = '{API_KEY}');",
            database=DB_NAME,
        )

    # -- measuring --------------------------------------------------------------------------

    def last_ticket_id(self) -> int:
        rows = mysql(f"SELECT COALESCE(MAX(ticket_id), 0) FROM {PREFIX}ticket", database=DB_NAME)
        return int(rows[0][0])

    def tickets_after(self, ticket_id: int) -> list[tuple[str, str]]:
        """(number, subject) of the tickets created after `ticket_id`."""
        rows = mysql(
            f"SELECT t.number, c.subject FROM {PREFIX}ticket t "
            f"LEFT JOIN {PREFIX}ticket__cdata c ON c.ticket_id = t.ticket_id "
            f"WHERE t.ticket_id > {int(ticket_id)}",
            database=DB_NAME,
        )
        return [(r[0], r[1] if len(r) > 1 else "") for r in rows]

    @staticmethod
    def questions() -> int:
        """MariaDB's count of statements received from clients (all of them)."""
        rows = mysql("SHOW GLOBAL STATUS LIKE 'Questions'")
        return int(rows[0][1])

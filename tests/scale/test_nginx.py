"""web/deploy/nginx.conf as shipped: nginx accepts it (`nginx -t`, a throw-away
certificate in place of the centre's), and in front of a running hall it passes pages
through, answers /healthz, keeps /metrics to the inside, refuses an upload over 20 MB
itself, slows password guessing, and 200 idle connections do not delay a request.

The file is tested as written: only the addresses (upstream port, listen ports), the
certificate paths and the static folder are replaced, as an installer would."""

from __future__ import annotations

import datetime as dt
import http.client
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .helpers import HPF, ROOT, free_port, hpf_env, idle_connection_delay

CONF = ROOT / "web" / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hall.example.gov.cn")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "hall.crt", folder / "hall.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def installed(folder: Path, app_port: int, http_port: int, https_port: int) -> Path:
    """The shipped file with this machine's addresses, inside a minimal nginx.conf that
    keeps every file nginx writes in `folder` (it runs as this user)."""
    cert, key = certificate(folder)
    text = CONF.read_text()
    replacements = [("server 127.0.0.1:5000", f"server 127.0.0.1:{app_port}"),
                    ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                    ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                    ("/etc/ssl/hpf/hall.crt", str(cert)), ("/etc/ssl/hpf/hall.key", str(key)),
                    ("/srv/hpf-hall/web/static/", f"{ROOT}/web/static/")]
    for old, new in replacements:
        assert old in text, old  # the file still says what the README tells people to edit
        text = text.replace(old, new)
    (folder / "hall.conf").write_text(text)
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    main = folder / "nginx.conf"
    main.write_text(f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {folder}/hall.conf;
}}
""")
    return main


def wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(log.read_text(errors="replace")[-3000:]) from None
            time.sleep(0.1)


@pytest.fixture
def proxied(tmp_path):
    """The embedded hall on SQLite, and nginx with the shipped file in front of it."""
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    env = hpf_env(HPF_DATABASE_URL=f"sqlite:///{tmp_path}/hall.db",
                  HPF_INSTANCE_DIR=str(tmp_path), HPF_PORT=str(app_port),
                  HPF_SECRET_KEY="nginx-test")
    subprocess.run([*HPF, "init-db"], env=env, check=True, capture_output=True, timeout=120)
    app_log = tmp_path / "hall.log"
    hall = subprocess.Popen([*HPF, "serve"], env=env, stdout=app_log.open("wb"),
                            stderr=subprocess.STDOUT)
    running = [hall]
    try:
        main = installed(tmp_path, app_port, http_port, https_port)
        nginx_args = ["-p", str(tmp_path), "-c", str(main), "-e", str(tmp_path / "error.log")]
        checked = subprocess.run([NGINX, "-t", *nginx_args], capture_output=True, text=True,
                                 timeout=30)
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen([NGINX, *nginx_args], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.STDOUT)
        running.append(nginx)
        wait_for(app_port, hall, app_log)
        wait_for(https_port, nginx, tmp_path / "error.log")
        yield {"http": http_port, "https": https_port, "folder": tmp_path}
    finally:
        for process in reversed(running):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def https(port: int) -> http.client.HTTPSConnection:
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the throw-away certificate
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context)


def get(port: int, path: str, body: bytes | None = None, method: str = "GET"
        ) -> tuple[int, bytes, dict]:
    connection = https(port)
    try:
        connection.request(method, path, body=body,
                           headers={"Host": "hall.example.gov.cn",
                                    **({"Content-Type": "application/octet-stream"}
                                       if body is not None else {})})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


def test_the_shipped_nginx_config_fronts_the_hall(proxied):
    port = proxied["https"]
    # plain HTTP is sent to HTTPS
    plain = http.client.HTTPConnection("127.0.0.1", proxied["http"], timeout=10)
    plain.request("GET", "/login", headers={"Host": "hall.example.gov.cn"})
    redirect = plain.getresponse()
    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://hall.example.gov.cn/login"
    # pages, health and static files pass through
    status, body, _ = get(port, "/healthz")
    assert status == 200 and b'"ok"' in body
    status, body, _ = get(port, "/login")
    assert status == 200 and "登录".encode() in body
    css = re.search(rb'href="(/static/[^"]+\.css)[^"]*"', body).group(1).decode()
    status, _, headers = get(port, css)
    assert status == 200 and "max-age=604800" in headers.get("Cache-Control", "")
    # /metrics is for the inside: loopback may read it (this test is the inside)
    status, body, _ = get(port, "/metrics")
    assert status == 200 and b"hpf_" in body
    # an upload over 20 MB is refused by nginx before the app sees a byte of it
    status, _, _ = get(port, "/api/v1/auth/login", b"x" * (21 * 2**20), "POST")
    assert status == 413
    assert "client intended to send too large body" in (
        proxied["folder"] / "error.log").read_text()


def test_password_guessing_is_slowed_by_nginx_before_the_app(proxied):
    """Logins: 20 a minute per address with a burst of 10; beyond, 429 from nginx."""
    statuses = [get(proxied["https"], "/api/v1/auth/login", b"{}", "POST")[0]
                for _ in range(14)]
    assert 429 in statuses and statuses[0] != 429
    assert get(proxied["https"], "/healthz")[0] == 200  # other pages are not limited


def test_two_hundred_idle_connections_do_not_delay_a_request(proxied):
    port = proxied["https"]

    def health() -> None:
        assert get(port, "/healthz")[0] == 200

    alone, crowded = idle_connection_delay(port, health, samples=10, settle=0.5)
    assert crowded - alone < 0.1, (alone, crowded)

"""`make run`'s steps as a new user meets them: hpf init-db, seed-demo, deploy, serve on the
embedded SQLite default, then the login page answers and the demo login works."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

HPF = str(Path(sys.executable).with_name("hpf"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_fresh_instance_serves_the_login_page_with_demo_data(tmp_path):
    port = free_port()
    env = {**os.environ, "HPF_INSTANCE_DIR": str(tmp_path), "HPF_PORT": str(port)}
    env.pop("HPF_DATABASE_URL", None)
    for command in ("init-db", "seed-demo", "deploy"):
        done = subprocess.run([HPF, command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "base_adjustment" in done.stdout
    demo = json.loads((tmp_path / "demo.json").read_text())
    assert (tmp_path / "hall.db").exists()
    server = subprocess.Popen([HPF, "serve"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        for _ in range(100):
            try:
                page = opener.open(f"{base}/login", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the hall did not start")
        assert "缴存单位登录" in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        unit = demo["units"][0]
        form = urlencode({"csrf_token": token, "unit_account": unit["unit_account"],
                          "login_name": unit["operators"][0]["login_name"],
                          "password": unit["operators"][0]["password"]}).encode()
        home = opener.open(f"{base}/login", data=form, timeout=10).read().decode()
        assert unit["name"] in home and "账户余额" in home
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"http://127.0.0.1:{port}/" in output and "demo.json" in output

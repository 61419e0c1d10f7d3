"""`make run`'s steps as a new user meets them: hpf init-db, seed-demo, deploy, serve on the
embedded SQLite default with the demo UKey (pcscd, the virtual card, the agent), then the
login page answers and the demo login works through the agent. And the UKey commands."""

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

import pytest

HPF = str(Path(sys.executable).with_name("hpf"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """A fresh instance dir after `make run`'s set-up steps: (env, demo.json, last output)."""
    path = tmp_path_factory.mktemp("instance")
    env = {**os.environ, "HPF_INSTANCE_DIR": str(path), "HPF_PORT": str(free_port()),
           "HPF_UKEY_AGENT_PORT": str(free_port())}
    env.pop("HPF_DATABASE_URL", None)
    env.pop("HPF_UKEY_CA_DIR", None)
    for command in ("init-db", "seed-demo", "deploy"):
        done = subprocess.run([HPF, command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert (path / "hall.db").exists()
    return env, json.loads((path / "demo.json").read_text()), done.stdout


def agent_call(env: dict, path: str, origin: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['HPF_UKEY_AGENT_PORT']}{path}",
        data=json.dumps(body).encode() if body else None,
        headers={"Origin": origin, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def test_a_fresh_instance_serves_the_login_page_and_the_demo_ukey_logs_in(instance):
    env, demo, deployed = instance
    assert "base_adjustment" in deployed
    port = env["HPF_PORT"]
    server = subprocess.Popen([HPF, "serve", "--demo-ukey"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        for _ in range(150):
            try:
                page = opener.open(f"{base}/login", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the hall did not start")
        assert "缴存单位登录" in page and f"127.0.0.1:{env['HPF_UKEY_AGENT_PORT']}" in page
        status, card = agent_call(env, "/status", base)
        assert status == 200 and card["reader"].startswith("Virtual PCD"), card
        assert agent_call(env, "/status", "http://localhost:1")[0] == 403

        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        unit = demo["units"][0]
        challenge = json.loads(opener.open(f"{base}/api/v1/auth/challenge").read())
        status, signed = agent_call(env, "/sign", base, {"nonce": challenge["nonce"],
                                                         "pin": unit["ukey"]["pin"]})
        assert status == 200, signed
        form = urlencode({"csrf_token": token, "unit_account": unit["unit_account"],
                          "login_name": unit["operators"][0]["login_name"],
                          "password": unit["operators"][0]["password"],
                          "ukey_certificate": signed["certificate"],
                          "ukey_challenge_id": challenge["challenge_id"],
                          "ukey_signature": signed["signature"]}).encode()
        home = opener.open(f"{base}/login", data=form, timeout=10).read().decode()
        assert unit["name"] in home and "账户余额" in home
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0]
    assert f"http://127.0.0.1:{port}/" in output and "demo.json" in output
    assert "示范 UKey 已插入" in output
    assert agent_call(env, "/status", base)[0] == 0  # the agent stopped with the hall


def test_issue_and_revoke_ukey_from_the_command_line(instance):
    env, demo, _ = instance
    account = demo["units"][1]["unit_account"]
    issued = subprocess.run([HPF, "issue-ukey", account, "--pin", "24680135"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert issued.returncode == 0, issued.stderr
    assert "已注销" in issued.stdout and "初始 PIN：24680135" in issued.stdout
    key_file = Path(env["HPF_INSTANCE_DIR"]) / "ukeys" / f"{account}.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (Path(env["HPF_INSTANCE_DIR"]) / "ukey-ca" / "ca-key.pem").stat().st_mode & 0o777 == 0o600

    revoked = subprocess.run([HPF, "revoke-ukey", account], env=env, capture_output=True,
                             text=True, timeout=60)
    assert revoked.returncode == 0 and "已注销" in revoked.stdout, revoked.stderr
    again = subprocess.run([HPF, "revoke-ukey", account], env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1 and "没有有效的 UKey 证书" in again.stderr
    unknown = subprocess.run([HPF, "issue-ukey", "0000000000"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 1 and "不存在" in unknown.stderr

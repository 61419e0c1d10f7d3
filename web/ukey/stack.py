"""A private PC/SC stack: pcscd with the vsmartcard-vpcd reader driver, a virtual UKey and
the UKey agent, started together and stopped together (`hpf serve --demo-ukey`, tests).

pcscd always serves /run/pcscd/pcscd.comm and takes its readers from a config directory,
so a second one (the tests' beside `make run`'s, or another checkout's) would collide.
Each stack therefore runs pcscd in its own mount namespace (`unshare`), with a private
directory mounted on /run/pcscd and its own vpcd port; clients reach it through
PCSCLITE_CSOCK_NAME, which libpcsclite (and so pyscard) honours."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
AGENT = Path(__file__).with_name("agent.py")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MISSING = ("pcscd 或 vsmartcard-vpcd 未安装：请先运行 make setup（debian-packages.txt 列有 "
           "pcscd、vsmartcard-vpcd、libpcsclite-dev）")


class StackError(RuntimeError):
    pass


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children end when the process that started them dies, even by SIGKILL. (Runs
    between fork and exec: nothing here may take a lock another thread could hold.)"""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(pair: bool = False) -> int:
    """A free loopback port (with the next one free too when `pair`: vpcd opens two)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if not pair or port >= 65535:
            return port
        try:
            with socket.socket() as second:
                second.bind(("0.0.0.0", port + 1))
            with socket.socket() as first:
                first.bind(("0.0.0.0", port))
            return port
        except OSError:
            continue
    raise StackError("no free port")


class PcscDaemon:
    """pcscd in its own mount namespace, with one vpcd reader on `vpcd_port`."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="hpf-pcsc-"))
        self.vpcd_port = 0
        self.process: subprocess.Popen | None = None

    @property
    def socket_path(self) -> Path:
        return self.workdir / "run" / "pcscd.comm"

    @property
    def env(self) -> dict[str, str]:
        """The environment a PC/SC client (pyscard) needs to reach this pcscd."""
        return {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def start(self, timeout: float = 10.0) -> None:
        pcscd, unshare = shutil.which("pcscd", path="/usr/sbin:/sbin:" + os.environ.get(
            "PATH", "")), shutil.which("unshare")
        if not pcscd or not VPCD_DRIVER.exists():
            raise StackError(MISSING)
        if not unshare:
            raise StackError("缺少 unshare（util-linux）")
        self.vpcd_port = free_port(pair=True)
        conf, run = self.workdir / "conf", self.workdir / "run"
        conf.mkdir()
        run.mkdir()
        (conf / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{self.vpcd_port:04X}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID 0x{self.vpcd_port:04X}\n")
        namespace = [unshare, "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            namespace.insert(1, "--map-root-user")
        script = 'mkdir -p /run/pcscd && mount --bind "$1" /run/pcscd && exec "$2" -f -c "$3"'
        self.process = subprocess.Popen(
            [*namespace, "sh", "-c", script, "sh", str(run), pcscd, str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists() or not _listening(self.vpcd_port):
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace")
                raise StackError(f"pcscd 启动失败：{error.strip()}")
            if time.monotonic() > deadline:
                self.stop()
                raise StackError("pcscd 未能在限定时间内启动")
            time.sleep(0.05)

    def stop(self) -> None:
        end_process(self.process)
        self.process = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_agent(env: dict[str, str], origins: list[str], port: int,
                timeout: float = 15.0) -> subprocess.Popen:
    """The UKey agent exactly as a unit runs it; `env` says which pcscd it reaches
    (`PcscDaemon.env`)."""
    command = [sys.executable, str(AGENT), "--port", str(port)]
    for origin in origins:
        command += ["--origin", origin]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + timeout
    while not _answers(f"http://127.0.0.1:{port}/status"):
        if process.poll() is not None:
            raise StackError("UKey 助手启动失败：" + process.stderr.read().decode(errors="replace"))
        if time.monotonic() > deadline:
            end_process(process)
            raise StackError("UKey 助手未能在限定时间内启动")
        time.sleep(0.05)
    return process


class DemoStack:
    """`make run`'s UKey: pcscd, the demo unit's virtual card, the agent."""

    def __init__(self, ukey: dict, origins: list[str], agent_port: int):
        self.ukey, self.origins, self.agent_port = ukey, origins, agent_port
        self.pcscd = PcscDaemon()
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        try:
            self.pcscd.start()
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "web.ukey.emulator", "--key", self.ukey["card_key_file"],
                 "--certificate", self.ukey["certificate_file"], "--pin", self.ukey["pin"],
                 "--port", str(self.pcscd.vpcd_port)], cwd=PROJECT_ROOT,
                stdout=subprocess.DEVNULL, preexec_fn=_die_with_parent))
            self.processes.append(start_agent(self.pcscd.env, self.origins, self.agent_port))
            self._wait_for_card()
        except BaseException:
            self.stop()
            raise

    def _wait_for_card(self, timeout: float = 15.0) -> None:
        """Ready means the agent reads the card: the first login page finds it."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.agent_port}/status",
                                         headers={"Origin": self.origins[0]})
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise StackError("虚拟 UKey 未能在限定时间内插入读卡器") from None
                time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self.processes):
            end_process(process)
        self.processes.clear()
        self.pcscd.stop()


def end_process(process: subprocess.Popen | None) -> None:
    """Terminate one process this stack started, by its handle; kill it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _listening(port: int) -> bool:
    """Whether something listens on the TCP port, read from /proc: connecting to vpcd's
    port to find out would itself insert a (broken) card."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def _answers(url: str) -> bool:
    """The agent answers (its refusal of a request without Origin counts)."""
    try:
        urllib.request.urlopen(url, timeout=0.5)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True

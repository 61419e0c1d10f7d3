"""Worker processes that run snippets and are killed hard when a snippet overruns.

A snippet may spend its whole budget inside one C call (`a in [b] * 30000`, hashing or
sorting huge aliased structures), where no tracing hook or signal handler can stop it,
holding the GIL (every thread of the server) and the action's database transaction. So
snippets run in separate processes (`sandbox_worker`), and the thread that asked waits on
the reply until the deadline, then kills the worker (SIGKILL), which always works.

Workers are fresh interpreters (`python -c`, importing only the sandbox), never forks
of this multi-threaded server: a fork would copy locks held by other threads, database
connections and everything in memory. Starting one takes ~0.1 s, so a few are kept idle
and reused; one killed on a deadline is replaced at once, in the background. At most `MAX_WORKERS` snippets
run at a time per app process; they all end with it (end of input on their stdin).
"""

from __future__ import annotations

import atexit
import io
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from .sandbox_rules import ScriptRefused
from .sandbox_worker import ALLOWED_GLOBALS, HEADER, MAX_REPLY_BYTES, READY

#: Snippets running at once in this process (waitress serves with 8 threads).
MAX_WORKERS = 8
#: Idle workers kept for the next snippets.
KEEP_IDLE = 2
START_SECONDS = 30.0
_ROOT = str(Path(__file__).resolve().parent.parent)
#: The worker imports as this process does (same `engine`, same packages), from an
#: environment that holds nothing of the server's (no database URL, no secret key).
_BOOT = "import sys; sys.path[:0] = sys.argv[1:]; from engine.sandbox_worker import main; main()"


class _Timeout(Exception):
    """The worker did not answer in time."""


class _Gone(Exception):
    """The worker's pipe closed: it died (or was never there)."""


class _Died(_Gone):
    """The worker's pipe closed while it ran a snippet."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not expected from a worker")
        return super().find_class(module, name)


def load_reply(data: bytes) -> tuple:
    """A worker's reply: plain data and known exception classes only (`ALLOWED_GLOBALS`),
    so even a worker taken over by a snippet cannot make this process run code."""
    return _Unpickler(io.BytesIO(data)).load()


class Worker:
    """One worker process and its pipes."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-X", f"int_max_str_digits={sys.get_int_max_str_digits()}",
             "-c", _BOOT, _ROOT, *sys.path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={"LC_ALL": "C.UTF-8"})
        self._in, self._out = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self._in, False)
        try:
            ready = self._read(time.monotonic() + START_SECONDS)
        except (_Timeout, _Gone):
            ready = None
        if ready != READY:
            self.kill()
            raise RuntimeError("无法启动脚本执行进程")

    def call(self, request: bytes, seconds: float) -> bytes:
        """Send a request and wait for the reply; `_Gone` from the write means nothing ran."""
        deadline = time.monotonic() + seconds
        view = memoryview(HEADER.pack(len(request)) + request)
        while view:
            _wait(self._in, select.POLLOUT, deadline)
            try:
                view = view[os.write(self._in, view):]
            except BlockingIOError:
                continue
            except OSError:  # EPIPE: it died while idle
                raise _Gone from None
        try:
            return self._read(deadline)
        except _Gone:
            raise _Died from None

    def _read(self, deadline: float) -> bytes:
        (size,) = HEADER.unpack(self._read_exact(HEADER.size, deadline))
        if size > MAX_REPLY_BYTES:
            raise _Gone
        return self._read_exact(size, deadline)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        buffer = io.BytesIO()
        while size:
            _wait(self._out, select.POLLIN, deadline)
            chunk = os.read(self._out, min(size, 1 << 20))
            if not chunk:
                raise _Gone
            buffer.write(chunk)
            size -= len(chunk)
        return buffer.getvalue()

    def kill(self) -> None:
        self.process.kill()
        self.close()

    def close(self) -> None:
        """Close its input (it exits), wait briefly, kill if it lingers."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def forget(self) -> None:
        """In a forked child: drop this process's copies of the pipes, so the worker still
        sees end of input when its real owner closes them; never signal it from here."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self.process.returncode = 0  # not ours to wait for


def _wait(fd: int, event: int, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    poller = select.poll()
    poller.register(fd, event)
    if remaining <= 0 or not poller.poll(remaining * 1000):
        raise _Timeout


class Pool:
    """The workers of this process."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._after_fork)
        atexit.register(self.shutdown)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_WORKERS)
        self._idle: list[Worker] = []
        self._live: set[Worker] = set()

    def run(self, request: tuple, seconds: float):
        """The worker's value for `request`; raises the snippet's exception, or
        ScriptRefused if it overran `seconds` or killed its worker."""
        try:
            payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ScriptRefused(f"任务数据无法交给脚本（{exc}）") from None
        if not self._slots.acquire(timeout=seconds):
            raise ScriptRefused("同时运行的脚本过多，请稍后再试")
        try:
            status, value = self._call(payload, seconds)
        finally:
            self._slots.release()
        if status == "error":
            raise value
        return value

    def _call(self, payload: bytes, seconds: float) -> tuple[str, object]:
        for attempt in range(2):
            worker = self._take()
            try:
                reply = worker.call(payload, seconds)
            except _Timeout:
                self._discard(worker, refill=True)
                raise ScriptRefused(f"脚本运行超过 {seconds:g} 秒") from None
            except _Died:
                self._discard(worker, refill=True)
                raise ScriptRefused("脚本执行进程意外结束（可能占用内存过多）") from None
            except _Gone:  # found dead before it got the request: nothing ran, try another
                self._discard(worker)
                if attempt:
                    raise ScriptRefused("脚本执行进程无法使用") from None
                continue
            try:
                status, value, retire = load_reply(reply)
            except Exception:
                self._discard(worker, refill=True)
                raise ScriptRefused("脚本执行进程的答复无法识别") from None
            if retire:
                self._discard(worker)
            else:
                self._give(worker)
            return status, value
        raise AssertionError("unreachable")

    def _take(self) -> Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        worker = Worker()
        with self._lock:
            self._live.add(worker)
        return worker

    def _give(self, worker: Worker) -> None:
        with self._lock:
            if len(self._idle) < KEEP_IDLE:
                self._idle.append(worker)
                return
            self._live.discard(worker)
        worker.close()

    def _discard(self, worker: Worker, refill: bool = False) -> None:
        """End a worker; with `refill`, start its replacement (in the background: the
        refusal need not wait for it), so the next snippet does not wait either."""
        with self._lock:
            self._live.discard(worker)
        worker.kill()
        if refill:
            threading.Thread(target=self._refill, name="sandbox-refill", daemon=True).start()

    def _refill(self) -> None:
        try:
            self._give(self._take())
        except RuntimeError:  # cannot start one now: the next snippet tries again
            pass

    def workers(self) -> list[int]:
        """Process ids of the live workers (for tests and operators)."""
        with self._lock:
            return [worker.process.pid for worker in self._live]

    def shutdown(self) -> None:
        """End every worker (at exit; also usable by tests)."""
        with self._lock:
            workers, self._idle, self._live = list(self._live), [], set()
        for worker in workers:
            worker.kill()

    def _after_fork(self) -> None:
        for worker in self._live:
            worker.forget()
        self._reset()


POOL = Pool()

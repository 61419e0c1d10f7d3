"""The process where snippets run when their work cannot be bounded in advance.

A worker is a fresh interpreter started by `sandbox_pool` (not a fork of the threaded web
server), capped in address space, that runs one snippet at a time: it reads a request
from its stdin, runs it with `sandbox_rules` and writes the reply to its stdout, each as
a length-prefixed pickle. The pool kills it when a snippet overruns its deadline, so work
done inside C code on one line (`a in [b] * 30000`) is stopped like any other. It also
stops itself: at end of input (the app process is gone), by SIGALRM a little after the
deadline (in case the pool is gone), and after a snippet that left it big.

Replies carry only plain data and exceptions of known classes, so the pool can unpickle
them with an allowlist (`ALLOWED_GLOBALS`): a snippet that broke out of the sandbox here
still could not make the server run code by what it sends back.
"""

from __future__ import annotations

import builtins
import decimal
import os
import pickle
import resource
import signal
import struct

from . import sandbox_rules as rules

HEADER = struct.Struct(">Q")
READY = b"ready"
#: How much a worker may grow its address space by, over what it needs once started.
MAX_MEMORY_GROWTH = 256 * 1024 * 1024
#: A worker that ends a snippet this much bigger in memory than at start is replaced.
RETIRE_GROWTH = 64 * 1024 * 1024
#: The biggest reply a worker sends (a script's results as storage keeps them).
MAX_REPLY_BYTES = 64 * 1024 * 1024
#: How much an exception may carry back (its arguments, in items and characters).
MAX_ERROR_ARGS = 10_000

ALLOWED_GLOBALS = frozenset(
    {("builtins", name) for name, value in vars(builtins).items()
     if isinstance(value, type) and issubclass(value, BaseException)}
    | {("decimal", name) for name, value in vars(decimal).items()
       if isinstance(value, type) and issubclass(value, ArithmeticError)}
    | {("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
       ("decimal", "Decimal"), ("datetime", "date"), ("datetime", "datetime"),
       (rules.ScriptRefused.__module__, rules.ScriptRefused.__qualname__)})
_PAGE = os.sysconf("SC_PAGE_SIZE")


def read_frame(fd: int) -> bytes | None:
    """One message from a blocking descriptor; None at end of input."""
    header = _read_exact(fd, HEADER.size)
    return None if header is None else _read_exact(fd, HEADER.unpack(header)[0])


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, data: bytes) -> None:
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _memory() -> tuple[int, int]:
    """(address space, resident) in bytes; zeros where /proc is missing (not Linux: no cap,
    the deadline still holds)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            size, resident = statm.read().split()[:2]
    except OSError:
        return 0, 0
    return int(size) * _PAGE, int(resident) * _PAGE


def _transportable(exc: BaseException) -> BaseException:
    """The exception itself if the pool may unpickle it and it carries little; else one of
    its class, or a ScriptRefused, with its message cut short."""
    kind = type(exc)
    if (kind.__module__, kind.__qualname__) in ALLOWED_GLOBALS:
        for candidate in (exc, None):
            try:
                candidate = candidate or kind(str(exc)[:500])
                rules.portable(candidate.args, MAX_ERROR_ARGS)
                pickle.dumps(candidate)
                return candidate
            except Exception:  # any failure: try a simpler one
                continue
    return rules.ScriptRefused(f"脚本出错：{kind.__name__}: {str(exc)[:500]}")


def handle(request: tuple) -> tuple[str, object]:
    """Run one request: ("eval" | "exec", source, context, external context, decimal
    context, seconds) → ("ok", value or changes) or ("error", exception)."""
    mode, source, context, external_context, decimal_context, _ = request
    decimal.setcontext(decimal_context)
    run = rules.evaluate if mode == "eval" else rules.execute
    try:
        return "ok", run(source, context, external_context)
    except MemoryError:
        raise
    except Exception as exc:  # the snippet's own error, sent back as it is
        return "error", _transportable(exc)


def _reply(request: tuple, baseline: int) -> tuple[bytes, bool]:
    """The pickled reply to `request`, and whether this worker should stop after it."""
    reply = None
    try:
        status, value = handle(request)
        retire = _memory()[1] > baseline + RETIRE_GROWTH
        reply = pickle.dumps((status, value, retire), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        pass  # answered below, once what the snippet built is freed with the traceback
    except RecursionError:
        reply, retire = pickle.dumps(("error", rules.ScriptRefused("脚本结果嵌套过深"), False)), False
    if reply is None:
        return pickle.dumps(("error", rules.ScriptRefused("脚本占用内存过多"), True)), True
    if len(reply) > MAX_REPLY_BYTES:
        reply = pickle.dumps(("error", rules.ScriptRefused("脚本结果过大"), retire))
    return reply, retire


def main() -> None:
    """Serve requests on stdin/stdout until end of input. Anything the interpreter prints
    goes to stderr, so it cannot corrupt replies."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C in a terminal is for the server
    size, baseline = _memory()
    if size:
        resource.setrlimit(resource.RLIMIT_AS, (size + MAX_MEMORY_GROWTH,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        write_frame(write_fd, READY)
        while (frame := read_frame(read_fd)) is not None:
            request = pickle.loads(frame)
            # A second after the pool's own deadline, SIGALRM's default action ends this
            # process (the pool may be gone: killed -9, so no end of input while busy).
            signal.setitimer(signal.ITIMER_REAL, request[-1] + 1.0)
            data, retire = _reply(request, baseline)
            del request, frame
            write_frame(write_fd, data)
            signal.setitimer(signal.ITIMER_REAL, 0)
            if retire:
                return
    except BrokenPipeError:  # the pool went away while we answered
        return

"""A warm ``python -m reconciler`` for the workflow tests: imported once, forked per command.

The workflow tests run about a hundred reconciler commands through the composite action, and a
fresh interpreter spends most of each one importing the package and its dependencies. Here one
server process imports them once. For each command it forks a child that takes the command's
arguments, environment, working directory and standard streams (the descriptors themselves,
passed over a Unix socket), then runs ``reconciler/__main__.py`` as ``python -m reconciler``
does. The client, which the action's shim executes, forwards SIGINT, SIGTERM and SIGHUP to
that child and exits as it did.

    python -m tests.helpers.forkserver serve SOCKET [DIR...]  # prints "ready" once it listens
    python -I -S tests/helpers/forkserver.py SOCKET ARGS...  # a client: the standard library only

Only the standard library is imported at the top: the client must start in milliseconds.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import struct
import sys
from pathlib import Path
from typing import Any, NoReturn

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STREAMS = 3  # stdin, stdout, stderr
HEADER = struct.Struct("!I")


def client_command(socket_path: Path) -> tuple[str, ...]:
    """What a shim runs, before the command's own arguments."""
    return (sys.executable, "-I", "-S", str(Path(__file__).resolve()), str(socket_path))


# --- the client ---------------------------------------------------------------------------------


def client(socket_path: str, args: list[str]) -> NoReturn:
    child: int | None = None
    pending: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        if child is None:
            pending.append(signum)
        else:
            os.kill(child, signum)

    ignored = [s for s in FORWARDED if signal.getsignal(s) == signal.SIG_IGN]
    for s in FORWARDED:
        if s not in ignored:
            signal.signal(s, forward)
    header = json.dumps(
        {"args": args, "env": dict(os.environ), "cwd": os.getcwd(), "ignored": ignored}
    ).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(socket_path)
        socket.send_fds(conn, [HEADER.pack(len(header))], list(range(STREAMS)))
        conn.sendall(header)
        answers = conn.makefile("rb")
        child = int(answers.readline())
        for signum in pending:
            os.kill(child, signum)
        how, _, number = answers.readline().decode().partition(" ")
    if how == "signal":  # end as the child did
        signal.signal(int(number), signal.SIG_DFL)
        os.kill(os.getpid(), int(number))
        sys.exit(128 + int(number))
    if how != "exit":
        sys.exit("forkserver: no exit status from the server")
    sys.exit(int(number))


# --- the server ---------------------------------------------------------------------------------


def serve(socket_path: str, *warm: str) -> NoReturn:
    _warm_up(warm)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the handlers are reaped by the kernel
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # this handler waits for its command
            try:
                _handle(conn)
            finally:
                os._exit(0)
        conn.close()


def _warm_up(directories: tuple[str, ...]) -> None:
    """Import every module of the package (but ``__main__``), and so what they import; then
    validate ``directories``, which fills what a command computes once per process (compiled
    schemas, the kinds registry), as it is filled for the in-process tests of the suite."""
    import importlib
    import pkgutil

    import reconciler
    from reconciler.cli import main

    for module in pkgutil.walk_packages(reconciler.__path__, "reconciler."):
        if module.name != "reconciler.__main__":
            importlib.import_module(module.name)
    for directory in directories:  # whatever it finds: the commands will find it again
        out = io.StringIO()
        main(["validate", directory], stdout=out, stderr=out, env={}, cwd=Path(directory))


def _handle(conn: socket.socket) -> None:
    """One command: fork it, tell the client its pid, then how it ended."""
    data, fds, _, _ = socket.recv_fds(conn, HEADER.size, STREAMS)
    assert len(data) == HEADER.size and len(fds) == STREAMS, "a client sends its 3 streams"
    (length,) = HEADER.unpack(data)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        assert chunk, "the client left before its command was sent"
        body += chunk
    command = json.loads(body)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run(command, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        conn.sendall(f"signal {os.WTERMSIG(status)}\n".encode())
    else:
        conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())


def _stream(fd: int, mode: str, like: io.TextIOWrapper) -> io.TextIOWrapper:
    """A standard stream on ``fd`` as the interpreter makes it at startup."""
    raw = io.FileIO(fd, mode, closefd=False)
    buffer = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffer,
        encoding=like.encoding,
        errors=like.errors,
        newline="\n",
        line_buffering=mode == "w" and (raw.isatty() or fd == 2),
    )


def _run(command: dict[str, Any], fds: list[int]) -> NoReturn:
    """In the forked child: become ``python -m reconciler ARGS`` in the client's place."""
    import atexit
    import runpy
    import threading
    import traceback

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd >= STREAMS:
            os.close(fd)
    os.chdir(command["cwd"])
    os.environ.clear()
    os.environ.update(command["env"])
    for signum in command["ignored"]:  # a background job of a script ignores SIGINT
        signal.signal(signum, signal.SIG_IGN)
    sys.stdin = _stream(0, "r", sys.stdin)  # type: ignore[arg-type]
    sys.stdout = _stream(1, "w", sys.stdout)  # type: ignore[arg-type]
    sys.stderr = _stream(2, "w", sys.stderr)  # type: ignore[arg-type]
    sys.argv = ["reconciler", *command["args"]]
    sys.path[0] = command["cwd"]  # what -m puts first
    code = 0
    try:
        runpy.run_module("reconciler", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # as the interpreter does: die of SIGINT
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = 120
    os._exit(code)


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], *sys.argv[3:])
    client(sys.argv[1], sys.argv[2:])

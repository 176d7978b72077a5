"""Processes the tests start: a free port, waiting until a process answers, stopping it,
a throwaway Redis."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int, path: str | None) -> bool:
    try:
        if path is None:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False


def wait_until_listening(
    port: int, proc: subprocess.Popen, path: str | None = None, timeout: float = 30
) -> None:
    """Wait until `proc` accepts connections on `port` (with `path`: until a GET of it
    answers 200). RuntimeError when the process exits or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"process on port {port} exited with {proc.returncode}: {output}")
        if _answers(port, path):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL when the process does not end within `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def redis_executable() -> str | None:
    return shutil.which("redis-server")


@contextlib.contextmanager
def redis_server(folder):
    """A throwaway redis-server on a free port (no persistence); yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            redis_executable() or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_listening(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)

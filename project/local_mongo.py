"""The local MongoDB-compatible server of a checkout: start, stop, status.

A fresh checkout has no MongoDB. The default ``MONGODB_URI`` points at a
SecantusDB server (the ``secantusdb`` package: the MongoDB wire protocol over
WiredTiger) run as its own process, ``secantusd-py``, with its data under
``var/mongo/``: documents and audit entries survive restarts. Project code
never imports SecantusDB (it is GPL-2.0-only, and production points the same
URI at a real ``mongod``); this module only starts and stops the daemon.

The port is derived from the checkout's path (``PYINDEX_MONGO_PORT``
overrides it), so two clones on one machine each get their own server.

Usage: ``scripts/mongo start|stop|status`` (``python -m project.local_mongo``),
no Django settings needed. ``scripts/run`` starts it when it is not running.

What it prints is the command's output, not log records (as a management
command writes to ``self.stdout``): status lines on stdout, errors on stderr,
and the exit code says the outcome; ``scripts/run`` reads ``uri``'s output.
It runs without Django settings, so there is no LOGGING to route it through.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Where the data directory, pid file and log live (PYINDEX_MONGO_HOME: another
# place, e.g. for a test of these commands).
VAR = Path(os.environ.get("PYINDEX_MONGO_HOME") or BASE_DIR / "var")
DATA_DIR = VAR / "mongo"
PID_FILE = VAR / "mongo.pid"
LOG_FILE = VAR / "mongo.log"
HOST = "127.0.0.1"
DATABASE = "pyindex"
START_COMMAND = "scripts/mongo start"


def port(base_dir: Path = BASE_DIR) -> int:
    """This checkout's port: PYINDEX_MONGO_PORT, else 28000-31999 from the checkout's path
    (below the kernel's ephemeral ports, which a client socket may hold)."""
    if os.environ.get("PYINDEX_MONGO_PORT"):
        return int(os.environ["PYINDEX_MONGO_PORT"])
    return 28000 + zlib.crc32(str(base_dir).encode()) % 4000


def uri(base_dir: Path = BASE_DIR) -> str:
    return f"mongodb://{HOST}:{port(base_dir)}/{DATABASE}"


def listening(host: str, port_number: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port_number), timeout=timeout):
            return True
    except OSError:
        return False


def _pid() -> int | None:
    """The server's pid from the pidfile, if that process is alive."""
    try:
        pid = int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def daemon_executable() -> str:
    """``secantusd-py`` of this interpreter's environment (the project's virtualenv)."""
    beside = Path(sys.executable).parent / "secantusd-py"
    found = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if not found:
        raise SystemExit(
            "error: secantusd-py not found: install the dev dependencies (uv sync), "
            "or set MONGODB_URI to a MongoDB server"
        )
    return found


def daemon_command(port_number: int, storage: str) -> list[str]:
    """The daemon's command line (also used by the test suite for its own server)."""
    return [
        daemon_executable(),
        "--host",
        HOST,
        "--port",
        str(port_number),
        "--storage-path",
        storage,
        "--log-level",
        "WARNING",
    ]


def wait_until_listening(process: subprocess.Popen, port_number: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not listening(HOST, port_number, 0.2):
        if process.poll() is not None:
            raise RuntimeError(f"secantusd-py exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"secantusd-py did not listen on {HOST}:{port_number} in {timeout}s")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def private_server(storage: str = ":memory:", log_path: str | None = None) -> Iterator[str]:
    """A throwaway server on a free port for the length of a block (benchmarks).

    Yields its base URI (``mongodb://127.0.0.1:PORT/``); stopped at the end.
    """
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed below
    number = free_port()
    process = subprocess.Popen(
        daemon_command(number, storage),
        cwd=tempfile.gettempdir(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_listening(process, number, timeout=60)
        yield f"mongodb://{HOST}:{number}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def start(timeout: float = 30.0) -> int:
    number = port()
    pid = _pid()
    if pid is not None and listening(HOST, number):
        print(f"MongoDB server already running (pid {pid}) at {uri()}")
        return 0
    if listening(HOST, number):
        print(
            f"error: port {number} is held by another process, not this checkout's server "
            f"(no live pid in {PID_FILE}); set PYINDEX_MONGO_PORT to a free port",
            file=sys.stderr,
        )
        return 1
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_FILE, "ab") as log:
        process = subprocess.Popen(
            daemon_command(number, str(DATA_DIR)),
            cwd=VAR,  # its config auto-discovery looks in the working directory
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the shell that started it
        )
    PID_FILE.write_text(f"{process.pid}\n")
    try:
        wait_until_listening(process, number, timeout)
    except RuntimeError as exc:
        print(f"error: {exc}; see {LOG_FILE}", file=sys.stderr)
        return 1
    print(f"MongoDB server started (pid {process.pid}) at {uri()}, data in {DATA_DIR}")
    return 0


def stop(timeout: float = 30.0) -> int:
    pid = _pid()
    if pid is None:
        PID_FILE.unlink(missing_ok=True)
        print("MongoDB server not running")
        return 0
    os.kill(pid, signal.SIGTERM)  # a clean shutdown: WiredTiger checkpoints
    deadline = time.monotonic() + timeout
    while _pid() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid() is not None:
        print(f"error: MongoDB server (pid {pid}) did not stop in {timeout}s", file=sys.stderr)
        return 1
    PID_FILE.unlink(missing_ok=True)
    print(f"MongoDB server stopped (pid {pid})")
    return 0


def status() -> int:
    pid = _pid()
    number = port()
    if pid is not None and listening(HOST, number):
        print(f"running (pid {pid}) at {uri()}, data in {DATA_DIR}, log {LOG_FILE}")
        return 0
    if pid is not None:
        print(f"starting or stuck: pid {pid} is alive but {HOST}:{number} does not answer")
        return 1
    print(f"not running ({uri()}); start it with {START_COMMAND}")
    return 3  # LSB: program is not running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/mongo", description="This checkout's local MongoDB-compatible server."
    )
    parser.add_argument("action", choices=["start", "stop", "status", "uri"])
    args = parser.parse_args(argv)
    if args.action == "uri":
        print(uri())
        return 0
    return {"start": start, "stop": stop, "status": status}[args.action]()


if __name__ == "__main__":
    sys.exit(main())

"""Worker processes that stay: one per framework for a whole run.

`verify` and `weights` need PyTorch and TensorFlow, each in a process of its own
(`_worker`), and importing a framework is most of what a step costs (TensorFlow
alone takes seconds). A `WorkerPool` starts at most one worker per framework, when
first needed, and sends it request after request; each request runs as in a fresh
process (the worker forgets the model files it loaded and clears Keras's session).

    with WorkerPool() as pool:        # or nnport.Session()
        ...                           # every verify/weights step in here uses `pool`

Outside a `with` block, steps use one pool shared by the whole Python process,
closed when it exits.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

FRAMEWORKS = ("torch", "keras")


class WorkerFailed(RuntimeError):
    """A worker step failed: `status` 2 for an error the user can act on (its message is
    the worker's explanation), 1 for a bug or a worker that ended (with its output)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def worker_env() -> dict[str, str]:
    """The child sees the same nnport as this process, and a quiet TensorFlow."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    package_root = str(Path(__file__).absolute().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


class _Server:
    """One running `python -m nnport._worker serve FRAMEWORK`. Its standard error goes to
    a log file (never a pipe that could fill up); the log is emptied before each request,
    so a failure reports only what that request printed."""

    def __init__(self, framework: str, extensions: Sequence[str], logdir: Path):
        self.framework = framework
        self.log = logdir / f"{framework}.log"
        command = [sys.executable, "-m", "nnport._worker", "serve", framework]
        for path in extensions:
            command += ["--extend", path]
        with open(self.log, "a", encoding="utf-8") as log:  # append: truncating stays safe
            self.process = subprocess.Popen(
                command,
                env=worker_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
            )
        self.pid = self.process.pid
        self.ready = False
        self.lock, self.read_lock = threading.Lock(), threading.Lock()  # writing, reading
        self.sent = self.received = 0
        self.answers: dict[int, dict] = {}

    def _output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace").strip()[-4000:]

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            status = self.process.wait()
            raise WorkerFailed(
                f"the {self.framework} worker process ended (exit status {status}):\n"
                f"{self._output()}",
                1,
            )
        return json.loads(line)

    def send(self, request: dict) -> int:
        """Send a request without waiting; its ticket for `receive`."""
        with self.lock:
            if self.sent == self.received:
                os.truncate(self.log, 0)  # nothing outstanding: the log is the next one's
            try:
                self.process.stdin.write(json.dumps(request) + "\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                pass  # it ended; receive says how
            self.sent += 1
            return self.sent - 1

    def receive(self, ticket: int) -> dict:
        """The answer to the request `ticket` (answers come in the order of the requests)."""
        with self.read_lock:
            if not self.ready:
                self._read()  # "ready": the framework is imported
                self.ready = True
            while ticket not in self.answers:
                self.answers[self.received] = self._read()
                self.received += 1
            return self.answers.pop(ticket)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, timeout: float = 30) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


class WorkerPool:
    """At most one live worker process per framework, reused by every step.

    `extensions` are Python files with a `COMMANDS` table ({(framework, name): function})
    whose commands the workers also serve (a test's or a benchmark's own steps).
    `started` counts the worker processes started per framework (one each, unless a
    worker ended and had to be replaced).
    """

    def __init__(self, extensions: Sequence[str | os.PathLike] = ()):
        self.extensions = [str(Path(path).resolve()) for path in extensions]
        self.started: collections.Counter[str] = collections.Counter()
        self._servers: dict[str, _Server] = {}
        self._logdir = Path(tempfile.mkdtemp(prefix="nnport-workers-"))
        self._closed = False
        self._lock = threading.Lock()

    def start(self, *frameworks: str) -> None:
        """Start these workers now, side by side (they import their frameworks at once)."""
        with self._lock:
            for framework in frameworks or FRAMEWORKS:
                self._server(framework)

    def _server(self, framework: str) -> _Server:
        if framework not in FRAMEWORKS:
            raise ValueError(f"unknown framework {framework!r}")
        if self._closed:
            raise RuntimeError("this worker pool is closed")
        server = self._servers.get(framework)
        if server is None or not server.alive():
            if server is not None:
                server.close(timeout=0)
            server = _spawn(framework, self.extensions, self._logdir)
            self._servers[framework] = server
            self.started[framework] += 1
        return server

    def pids(self) -> dict[str, int]:
        """The live workers' process ids."""
        return {name: s.pid for name, s in self._servers.items() if s.alive()}

    def submit(self, framework: str, command: str, request: dict) -> Pending:
        """Send one step (and its `then` steps) to `framework`'s worker and return at once;
        `Pending.result()` waits for it. Another framework's worker works meanwhile."""
        with self._lock:
            server = self._server(framework)
        return Pending(server, server.send({**request, "command": command}), command)

    def run(self, framework: str, command: str, request: dict, workdir=None) -> list[str]:
        """Run one step (and its `then` steps) in `framework`'s worker; its warnings are
        printed to standard error and returned. Raises WorkerFailed."""
        del workdir  # requests name their files themselves
        return self.submit(framework, command, request).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        for log in self._logdir.glob("*"):
            log.unlink(missing_ok=True)
        self._logdir.rmdir()

    def __enter__(self) -> WorkerPool:  # noqa: PYI034 - Self needs Python 3.11
        _active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active.remove(self)
        self.close()

    @contextlib.contextmanager
    def current(self):
        """Make this the pool every step uses, for the `with` block (it stays open)."""
        _active.append(self)
        try:
            yield self
        finally:
            _active.remove(self)


class Pending:
    """A step sent to a worker, whose answer has not been read yet."""

    def __init__(self, server: _Server, ticket: int, command: str):
        self._server, self._ticket, self._command = server, ticket, command

    def result(self) -> list[str]:
        """Wait for the step: its warnings (printed to standard error), or WorkerFailed."""
        answer = self._server.receive(self._ticket)
        for warning in answer.get("warnings", []):
            print(f"nnport: warning: {warning}", file=sys.stderr)
        if answer["status"] != 0:
            raise WorkerFailed(
                f"{self._server.framework} {self._command}: {answer['error'].strip()}",
                answer["status"],
            )
        return answer.get("warnings", [])


def _spawn(framework: str, extensions: Sequence[str], logdir: Path) -> _Server:
    """Start a worker process (one place, so a test run can forbid it)."""
    return _Server(framework, extensions, logdir)


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory:
    """A temporary folder for the arrays and weights files the workers exchange: in
    memory (/dev/shm) where it has room, since an AlexNet's weights are 230 MB written
    and read three times per verify; else the usual temporary folder."""
    shm = "/dev/shm"
    try:
        stat = os.statvfs(shm)
        roomy = stat.f_bavail * stat.f_frsize >= SCRATCH_IN_MEMORY_MIN and os.access(shm, os.W_OK)
    except OSError:
        roomy = False
    return tempfile.TemporaryDirectory(prefix=prefix, dir=shm if roomy else None)


SCRATCH_IN_MEMORY_MIN = 4 << 30  # bytes free in /dev/shm to put scratch folders there

_active: list[WorkerPool] = []
_shared: WorkerPool | None = None


def current() -> WorkerPool:
    """The innermost pool of a `with` block, else the process-wide one."""
    global _shared
    if _active:
        return _active[-1]
    if _shared is None:
        _shared = WorkerPool()
        atexit.register(_shared.close)
    return _shared

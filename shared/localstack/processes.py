"""Detached child processes tracked by PID files, stopped only when the PID is still ours."""

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from shared.errors import StackError


@dataclass(frozen=True)
class ManagedProcess:
    """A process the stack owns: its PID file, log file and a marker in its command line."""

    name: str
    pid_file: Path
    log_file: Path
    marker: str

    def pid(self) -> int | None:
        """The PID if the recorded process is alive and still the one we started."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        if self.marker not in cmdline:
            return None  # the PID was recycled by an unrelated process
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return None
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None  # exited, waiting to be reaped
        return pid

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> int:
        """Start detached from our session so it outlives `kpi stack up`."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            try:
                child = subprocess.Popen(  # noqa: S603 - argv is built by us, not a shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, **(env or {})},
                )
            except OSError as exc:
                raise StackError(f"cannot start {self.name} ({argv[0]}): {exc}") from exc
        self.pid_file.write_text(f"{child.pid}\n")
        # Between fork and exec the child still shows our command line; wait for the exec so
        # that `pid()` recognises it.
        deadline = time.monotonic() + 5.0
        while self.pid() is None and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return child.pid

    def stop(self, timeout_s: float = 10.0) -> bool:
        """SIGTERM, then SIGKILL after the timeout; True if a process was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pid() is None:
                break
            time.sleep(0.05)
        else:
            _signal(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL at once, as a crash would (used by fault tests)."""
        pid = self.pid()
        if pid is not None:
            _signal(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.02)
        self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the process's log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    # Reap it if it is our own child (tests start the stack in-process).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

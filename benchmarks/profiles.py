"""py-spy profiles of the processes under measurement, and the functions that cost the most."""

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


def record(
    pid: int, output: Path, seconds: int | None = None
) -> tuple[subprocess.Popen[bytes] | None, Path]:
    """py-spy on a process at 50 Hz without pausing it, for `seconds` or until interrupted
    (SIGINT: it then writes what it has); no process when py-spy is missing."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return None, output
    argv = [spy, "record", "--pid", str(pid), "--rate", "50", "--nonblocking"]
    if seconds is not None:
        argv += ["--duration", str(seconds)]
    process = subprocess.Popen(
        [*argv, "--format", "raw", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, output


_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match["file"]
    for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['function']} ({path})"


def top_costs(
    raw: str, limit: int = 8, *, within: tuple[str, ...] = (), below: float = 1.0
) -> list[tuple[str, float, float]]:
    """From py-spy's raw output: the functions with the most samples on the CPU, as (function,
    self share, inclusive share). With `within` (parts of file paths), the frames of those
    files by inclusive share, leaving out wrappers at or above `below`; else by self share."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return []
    if within:
        names = [
            n
            for n, c in inclusive.most_common()
            if any(w in n for w in within) and "<module>" not in n and c / total < below
        ]
    else:
        names = [n for n, _ in own.most_common(limit)]
    return [(n, own[n] / total, inclusive[n] / total) for n in names[:limit]]


@dataclass(frozen=True)
class ProcessProfile:
    """One process's py-spy samples (raw format) under a name."""

    name: str
    raw: str

    def stages(self, within: tuple[str, ...], limit: int = 12) -> list[tuple[str, float, float]]:
        """Functions of the given files by inclusive share, below the per-batch wrappers."""
        return top_costs(self.raw, limit, within=within, below=0.9)

    def leaves(self, limit: int = 12) -> list[tuple[str, float, float]]:
        """Functions by self share."""
        return top_costs(self.raw, limit)

    def shares(self, parts: dict[str, str]) -> dict[str, float]:
        """For each named part, the share of samples with a frame whose name contains its
        text (`Triage.__call__`, `aiokafka/consumer/`): the inclusive split of the CPU."""
        counts = dict.fromkeys(parts, 0)
        total = 0
        for line in self.raw.splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            total += int(count_text)
            for name, text in parts.items():
                if text in stack:
                    counts[name] += int(count_text)
        return {name: count / total if total else 0.0 for name, count in counts.items()}

    def table(self, within: tuple[str, ...]) -> str:
        """Markdown: its stages in the given files, then its leaf functions."""
        head = "| function | self | inclusive |\n|---|---:|---:|\n"

        def lines(costs: list[tuple[str, float, float]]) -> str:
            return "\n".join(f"| `{n}` | {own:.0%} | {inc:.0%} |" for n, own, inc in costs)

        return (
            f"{self.name}, its functions by inclusive time:\n\n{head}{lines(self.stages(within))}"
            f"\n\n{self.name}, the leaf functions (self time):\n\n{head}{lines(self.leaves())}\n"
        )

"""Container health check: GET /healthz of the service this container runs.

The image runs any of the four services (`kpi serve NAME [--port N]`), each on its own port
(`KPI_HTTP_PORT_BASE` + its place in the flow), so the port is worked out from PID 1's command
line and the same settings the service read. Exit 0 when /healthz answers 200, else 1.
Usage: python healthcheck.py [SERVICE]   (SERVICE defaults to the one PID 1 serves)
"""

import sys
import urllib.request
from pathlib import Path

from shared.settings import SERVICE_NAMES, load_settings

TIMEOUT_S = 3.0


def _served(argv: list[str]) -> tuple[str, int | None]:
    """The service and explicit --port of a `kpi serve NAME [--port N]` command line."""
    service = next((arg for arg in argv if arg in SERVICE_NAMES), "ingest")
    port: int | None = None
    for index, arg in enumerate(argv):
        if arg == "--port" and index + 1 < len(argv):
            port = int(argv[index + 1])
        elif arg.startswith("--port="):
            port = int(arg.partition("=")[2])
    return service, port


def main() -> int:
    """Probe /healthz; the exit status is the container's health."""
    if len(sys.argv) > 1:
        service, port = sys.argv[1], None
    else:
        raw = Path("/proc/1/cmdline").read_bytes()
        service, port = _served([part.decode() for part in raw.split(b"\0") if part])
    settings = load_settings()
    host = settings.http_host if settings.http_host not in {"0.0.0.0", "::", ""} else "127.0.0.1"  # noqa: S104
    url = f"http://{host}:{port or settings.http_port_for(service)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main())

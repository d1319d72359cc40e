"""Generate `docs/openapi.json`: the OpenAPI document of the reporting service's HTTP API, beside
the AsyncAPI document of its topics (`shared/contract_docs.py`).

The document is taken from the reporting service as its composition root builds it (on the
repository's configuration, nothing started or connected), so it is what the service serves at
`/openapi.json`. Run `python -m services.reporting.openapi_doc` (`make docs`) after changing a
route or a response model; `--check` writes nothing and exits 1 when the committed file is
stale.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from shared.settings import load_settings

from .app import create_app

ROOT: Final = Path(__file__).resolve().parents[2]
DOCS_DIR: Final = ROOT / "docs"
OPENAPI_FILE: Final = "openapi.json"


def build_openapi(config_dir: Path = ROOT / "config") -> dict[str, Any]:
    """The reporting service's OpenAPI document."""
    # Port 1: building the app connects nowhere, and these addresses never reach the document.
    settings = load_settings(
        KPI_CONFIG_DIR=config_dir,
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        KPI_LOCAL_STACK=True,
    )
    document: dict[str, Any] = create_app(settings).http.openapi()
    return document


def openapi_text() -> str:
    """The document as committed: sorted keys, two-space indent, UTF-8, a final newline."""
    return json.dumps(build_openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_current(docs_dir: Path) -> bool:
    """Whether `docs_dir` holds the document the code generates."""
    path = docs_dir / OPENAPI_FILE
    return path.is_file() and path.read_text(encoding="utf-8") == openapi_text()


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with `--check` report a stale one and return 1."""
    parser = argparse.ArgumentParser(
        prog="python -m services.reporting.openapi_doc",
        description="Generate docs/openapi.json from the reporting service's routes.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("--docs-dir", type=Path, default=DOCS_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    path: Path = args.docs_dir / OPENAPI_FILE
    if args.check:
        if is_current(args.docs_dir):
            return 0
        sys.stderr.write(f"stale: {path} (run `make docs`)\n")
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(openapi_text(), encoding="utf-8", newline="\n")
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

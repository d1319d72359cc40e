"""Credentials written into files: found so that none is ever committed or read from one.

Secrets come from the environment only (DESIGN §9). Two places use this scan: a static test
over every file git tracks, and every service at start-up over its configuration directory
(`KPI_CONFIG_DIR`, whose files are the repository's): a service refuses to start with a
password, key or token in a file, naming the file, the line and the variable to use instead,
and never repeating the value.

What counts: a URI with a password (`mongodb://user:pw@host`), a secret-named setting with a
literal value (`KAFKA_SASL_PASSWORD=…`, `password: …`, `KPI_PHONE_HASH_KEY=…`, `api_key: …`),
a private key block, and the shapes of well-known tokens (AWS access keys, GitHub, Slack).
Placeholders are not credentials: `${VAR}`, `$VAR`, `{name}`, `<password>`, `…`, `***`, `changeme`,
`example`, empty values and references to a secret store (`secretKeyRef`, `valueFrom`).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_PLACEHOLDER: Final = re.compile(
    r"^(\$.*|<[^>]*>|\{\{.*\}\}|\{[A-Za-z_][A-Za-z0-9_.]*\}|[.…*xX_-]*|change[_-]?me.*|.*example.*|.*placeholder.*|"
    r"secret|password|redacted|none|null|true|false|\w+[_-]?(password|secret|key|token))$",
    re.IGNORECASE,
)
_CODE_SUFFIXES: Final = frozenset({".py", ".js", ".ts", ".pyi"})
ALLOW: Final = "credential-scan: allow"  # on a line: a fake, public on purpose (say why)
_URI_PASSWORD: Final = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"`]+:([^/\s@'\"`]+)@")
_SECRET_SETTING: Final = re.compile(
    r"""(?ix)
    (?:^|[\s{,"'])
    (?P<name>[a-z0-9_.-]*(?:password|passwd|secret|api[_-]?key|access[_-]?key|token|
        hash[_-]?key|private[_-]?key|sasl[_-]?password))
    ["']?\s*(?:=|:)\s*
    (?P<value>"[^"\n]*"|'[^'\n]*'|[^\s#,;]+)
    """
)
_PRIVATE_KEY: Final = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
_TOKENS: Final = {
    "an AWS access key id": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
}
_MIN_SECRET_CHARS: Final = 8


@dataclass(frozen=True)
class Finding:
    """A credential in a file; `what` never contains the credential itself."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _is_literal(value: str) -> bool:
    value = value.strip().strip("\"'")
    return len(value) >= _MIN_SECRET_CHARS and not _PLACEHOLDER.match(value)


def credentials_in(text: str, path: str) -> Iterator[Finding]:
    """Every credential written in `text` (the contents of the file `path`). In source code
    only a quoted literal counts as a value (`secret = key.get_secret_value()` is no secret)."""
    code = Path(path).suffix in _CODE_SUFFIXES
    for number, line in enumerate(text.splitlines(), start=1):
        if "secretKeyRef" in line or "valueFrom" in line or ALLOW in line:
            continue
        for match in _URI_PASSWORD.finditer(line):
            if _is_literal(match.group(1)):
                yield Finding(path, number, "a URI with a password in it")
        for match in _SECRET_SETTING.finditer(line):
            value = match.group("value")
            if code and value[:1] not in {'"', "'"}:
                continue
            if _is_literal(value):
                name = match.group("name")
                yield Finding(path, number, f"a literal value for the secret {name!r}")
        if _PRIVATE_KEY.search(line):
            yield Finding(path, number, "a private key")
        for what, pattern in _TOKENS.items():
            if pattern.search(line):
                yield Finding(path, number, what)


def credentials_in_files(paths: list[Path], root: Path | None = None) -> list[Finding]:
    """Every credential in these files (binary files are skipped); paths shown relative to
    `root` when given."""
    found: list[Finding] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        shown = str(path.relative_to(root)) if root is not None else str(path)
        found.extend(credentials_in(text, shown))
    return found


def credentials_in_directory(directory: Path) -> list[Finding]:
    """Every credential in the files under `directory` (a service's configuration)."""
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    return credentials_in_files(files, directory)

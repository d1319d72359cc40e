"""No credential in any file git tracks (DESIGN §9: secrets come from the environment only):
no URI with a password, no literal value for a password, key or token setting, no private key,
no AWS, GitHub or Slack token. A deliberate fake says so on its line (`credential-scan: allow`)."""

import subprocess
from pathlib import Path

from shared.credential_scan import credentials_in_files

ROOT = Path(__file__).resolve().parents[2]


def test_no_tracked_file_holds_a_credential() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    files = [ROOT / name for name in listed.split("\0") if name]
    assert len(files) > 100, "git ls-files listed almost nothing"

    findings = credentials_in_files([f for f in files if f.is_file()], ROOT)

    assert [str(f) for f in findings] == []

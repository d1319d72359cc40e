"""A `Triage` for unit tests: the shipped config/ (code lists, organisation, calendar), a fixed
phone-hash key, a day's tolerance for the future and the contract's size limit."""

from datetime import timedelta
from pathlib import Path
from typing import Final

from services.ingest.future import FutureGate
from services.ingest.normalise import CodeBook, load_codebook
from services.ingest.org_directory import OrgDirectory
from services.ingest.phones import PhoneHasher
from services.ingest.triage import Triage
from shared.config import CalendarConfig, load_calendar
from shared.events import MAX_MESSAGE_BYTES

CONFIG: Final = Path(__file__).resolve().parents[2] / "config"
HASHER: Final = PhoneHasher(b"unit-test-phone-hash-key-32-bytes!")


def make_triage(
    *,
    codebook: CodeBook | None = None,
    org: OrgDirectory | None = None,
    calendar: CalendarConfig | None = None,
) -> Triage:
    """What is not given is read from config/ (a test building many passes what it has loaded)."""
    return Triage(
        codebook=load_codebook(CONFIG / "codes.yaml") if codebook is None else codebook,
        org=OrgDirectory.from_file(CONFIG / "org.yaml") if org is None else org,
        hasher=HASHER,
        calendar=load_calendar(CONFIG / "calendar.yaml") if calendar is None else calendar,
        gate=FutureGate(timedelta(days=1)),
        max_bytes=MAX_MESSAGE_BYTES,
    )

"""One entry point for the three formats, for the HTTP endpoint and the `kpi scorecard` CLI:
the body as bytes, its media type and a file name that says what it holds."""

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

from .as_csv import scorecard_csv
from .as_html import scorecard_html
from .as_json import scorecard_json
from .page import ScorecardPage

Format = Literal["json", "csv", "html"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)
MEDIA_TYPES: Final[dict[Format, str]] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8; header=present",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered scorecard: what to send or write."""

    body: bytes
    media_type: str
    filename: str


def render_text(page: ScorecardPage, fmt: Format) -> str:
    """The scorecard of `page` in `fmt` as text."""
    card = page.scorecard
    if fmt == "json":
        return scorecard_json(card)
    if fmt == "csv":
        return scorecard_csv(card, kpi_labels=page.kpi_labels, language=page.language)
    return scorecard_html(page)


def render(page: ScorecardPage, fmt: Format) -> Rendered:
    """The scorecard of `page` in `fmt`, UTF-8 encoded, with its media type and file name."""
    card = page.scorecard
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"scorecard-{card.entity}-{card.period}")
    return Rendered(
        body=render_text(page, fmt).encode("utf-8"),
        media_type=MEDIA_TYPES[fmt],
        filename=f"{stem}-r{card.revision}.{fmt}",
    )

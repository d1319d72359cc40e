"""The HTML scorecard in a real browser: Debian's headless Chromium (driven by playwright, which
downloads no browser of its own) loads a realistic branch scorecard in en, zh and ja, logs no
console error, fetches nothing but the page itself, draws this entity's highlighted point and
every KPI row, draws every character with a real glyph (no empty "tofu" boxes: the Chinese and
Japanese pages need a CJK font), fits A4 width, and leaves a screenshot.

`make tools` installs /usr/bin/chromium and Debian's fonts-noto-cjk when they are missing.
Without chromium the test is skipped on a workstation and fails in CI (the `CI` environment
variable set); without the CJK fonts the zh and ja pages fail, naming the boxed characters.

The committed picture docs/scorecard.png is refreshed, without make, by

    .venv/bin/python -m tests.support.scorecard_browser docs/scorecard.png --vetoes
"""

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.reporting.render import scorecard_html
from tests.support.scorecard_browser import A4_VIEWPORT, chromium_path, fonts_for, visit
from tests.support.scorecard_sample import ENTITY, sample_page

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (/usr/bin/chromium); run `make tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass(frozen=True)
class PageFile:
    url: str
    screenshot: Path
    kpis: int
    language: str
    entity_label: str


@pytest.fixture(params=[("en", True), ("zh", False), ("ja", False)], ids=["en", "zh", "ja"])
def page_file(request: pytest.FixtureRequest, tmp_path: Path) -> PageFile:
    language, vetoes = request.param
    page = sample_page(language=language, vetoes=vetoes)
    html_file = tmp_path / f"scorecard-{language}.html"
    html_file.write_text(scorecard_html(page), encoding="utf-8")
    return PageFile(
        url=html_file.as_uri(),
        screenshot=tmp_path / f"scorecard-{language}.png",
        kpis=len(page.scorecard.kpis),
        language=language,
        entity_label=page.entity_label,
    )


def _no_tofu(tofu: list[str], language: str) -> str:
    installed = fonts_for(language)
    return (
        f"{len(tofu)} characters of the {language} page are drawn as empty boxes: "
        f"{''.join(tofu)}; fonts for {language}: {installed or 'none'} (run `make tools`, "
        "which installs Debian's fonts-noto-cjk)"
    )


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


async def test_scorecard_renders_in_headless_chromium(chromium: str, page_file: PageFile) -> None:
    seen = await visit(page_file.url, page_file.screenshot, executable=chromium)

    assert seen.console_errors == []
    assert seen.page_errors == []
    assert seen.requests == [page_file.url], "the page fetched something besides itself"
    assert ENTITY in seen.title
    assert page_file.entity_label in seen.title
    assert seen.tofu == [], _no_tofu(seen.tofu, page_file.language)
    assert seen.highlighted == 1
    assert seen.kpi_rows == page_file.kpis
    assert seen.width <= A4_VIEWPORT["width"], "the page is wider than A4"
    width, height = _png_size(page_file.screenshot.read_bytes())
    assert height > width, f"screenshot {page_file.screenshot} is not portrait"


async def test_the_glyph_check_sees_empty_boxes(chromium: str, tmp_path: Path) -> None:
    """The check itself: a character no font has (U+10FFFC, private use) is reported, beside
    Latin, Chinese and Japanese text that is drawn."""
    html_file = tmp_path / "boxes.html"
    html_file.write_text(
        '<!DOCTYPE html><html lang="ja"><meta charset="utf-8"><title>t</title>'
        "<body><p>Yokohama 横浜支店 横滨分公司 スコアカード \U0010fffc</p></body></html>",
        encoding="utf-8",
    )
    seen = await visit(html_file.as_uri(), tmp_path / "boxes.png", executable=chromium)
    assert "\U0010fffc" in seen.tofu
    assert [c for c in seen.tofu if c != "\U0010fffc"] == [], _no_tofu(seen.tofu, "ja")


def test_the_committed_screenshot_is_an_a4_portrait_page() -> None:
    width, height = _png_size((REPO / "docs" / "scorecard.png").read_bytes())
    assert 1.3 < height / width < 1.5
    assert width >= A4_VIEWPORT["width"]

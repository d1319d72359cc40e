"""Open a rendered scorecard page in Debian's headless Chromium (through playwright, which drives
the system browser and downloads none) and keep what the browser saw: console messages, page
errors, requests, the characters it could only draw as empty boxes (tofu), and a screenshot.
`console_walk` keeps one browser open and moves through the console by clicking, as a person
does, with the same records for the whole walk and a screenshot of every page it reaches.

Also the command that refreshes the committed screenshot:

    .venv/bin/python -m tests.support.scorecard_browser docs/scorecard.png
"""

import argparse
import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from playwright.async_api import (
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Request,
    ViewportSize,
    async_playwright,
)

from services.reporting.render import scorecard_html
from tests.support.scorecard_sample import sample_page

CHROMIUM: Final = "/usr/bin/chromium"
# What works as root in a container: no sandbox, no GPU, and nothing the browser would fetch
# on its own (component updates, sync, background networking).
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# A4 at 96 dpi: 210 mm × 297 mm.
A4_VIEWPORT: Final = ViewportSize(width=794, height=1123)

# Which characters of the page's text the browser draws as the missing-glyph box ("tofu"). Each
# distinct character is drawn on a canvas in the font its element computes, and so is U+10FFFD
# (a private-use code point no font has: always the missing-glyph box); equal pixels mean no
# installed font had the character. document.fonts.check cannot tell (it answers true whenever
# nothing is left to download, glyphs or not), and a width alone can match by chance.
MISSING_GLYPHS_JS: Final = r"""
() => {
  const canvas = document.createElement("canvas");
  canvas.width = 96;
  canvas.height = 64;
  const context = canvas.getContext("2d");
  const drawn = (text, font) => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.font = font;
    context.fillText(text, 8, 48);
    return canvas.toDataURL();
  };
  const fonts = new Map();
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!element || ["STYLE", "SCRIPT", "TITLE"].includes(element.tagName)) continue;
    const style = getComputedStyle(element);
    const font = `${style.fontStyle} ${style.fontWeight} 40px ${style.fontFamily}`;
    for (const character of walker.currentNode.data) {
      if (character.codePointAt(0) < 0x80 || /\s/u.test(character)) continue;
      if (!fonts.has(font)) fonts.set(font, new Set());
      fonts.get(font).add(character);
    }
  }
  const missing = new Set();
  for (const [font, characters] of fonts) {
    const tofu = drawn("\u{10FFFD}", font);
    for (const character of characters) {
      if (drawn(character, font) === tofu) missing.add(character);
    }
  }
  return [...missing].sort();
}
"""


@dataclass
class BrowserVisit:
    """What happened while the page loaded."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    title: str = ""
    highlighted: int = 0
    kpi_rows: int = 0
    width: int = 0
    height: int = 0
    tofu: list[str] = field(default_factory=list)


def chromium_path() -> str | None:
    """Debian's chromium when installed (`make tools` installs it)."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def fonts_for(language: str) -> list[str]:
    """The font files fontconfig offers for a language (`fc-list :lang=ja file`); `make tools`
    installs Debian's fonts-noto-cjk for ja and zh."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    listed = subprocess.run(
        [fc_list, f":lang={language}", "file"], capture_output=True, text=True, check=False
    )
    return sorted(line.strip() for line in listed.stdout.splitlines() if line.strip())


async def visit(url: str, screenshot: Path, *, executable: str = CHROMIUM) -> BrowserVisit:
    """Load `url` in headless Chromium with a fresh profile and save a full-page PNG there."""
    seen = BrowserVisit()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "assert"}:
            seen.console_errors.append(message.text)

    def on_page_error(error: Error) -> None:
        seen.page_errors.append(str(error))

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        async with async_playwright() as driver:
            context = await driver.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                args=list(CHROMIUM_ARGS),
                headless=True,
                viewport=A4_VIEWPORT,
                device_scale_factor=1.5,
            )
            try:
                page = await context.new_page()
                page.on("console", on_console)
                page.on("pageerror", on_page_error)
                page.on("request", on_request)
                await page.goto(url, wait_until="load")
                await page.wait_for_load_state("networkidle")
                seen.title = await page.title()
                seen.highlighted = await page.locator("svg .this-entity circle").count()
                seen.kpi_rows = await page.locator("tr.kpi-row").count()
                size = await page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
                )
                seen.width, seen.height = int(size[0]), int(size[1])
                seen.tofu = [str(c) for c in await page.evaluate(MISSING_GLYPHS_JS)]
                await page.screenshot(path=str(screenshot), full_page=True)
            finally:
                await context.close()
    return seen


@dataclass(frozen=True)
class Stop:
    """A page the walk reached: where, its language and heading, what it drew as empty boxes."""

    name: str
    url: str
    lang: str
    heading: str
    tofu: list[str]
    screenshot: Path


@dataclass
class ConsoleWalk:
    """A walk through the console in one browser tab: each click's page, and what the browser
    logged and requested on the way."""

    page: Page
    folder: Path
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)

    async def open(self, url: str, name: str) -> Stop:
        """Type a URL (the walk's first page)."""
        await self.page.goto(url, wait_until="load")
        return await self._arrived(name)

    async def click(self, link: Locator, name: str) -> Stop:
        """Follow a link and wait for the page it leads to."""
        async with self.page.expect_navigation(wait_until="load"):
            await link.click()
        return await self._arrived(name)

    async def back(self, name: str) -> Stop:
        """The browser's back button."""
        await self.page.go_back(wait_until="load")
        return await self._arrived(name)

    async def _arrived(self, name: str) -> Stop:
        page = self.page
        await page.wait_for_load_state("networkidle")
        shot = self.folder / f"{name}.png"
        await page.screenshot(path=str(shot), full_page=True)
        heading = page.locator("h1")
        stop = Stop(
            name=name,
            url=page.url,
            lang=str(await page.evaluate("document.documentElement.lang")),
            heading=(await heading.first.inner_text()) if await heading.count() else "",
            tofu=[str(c) for c in await page.evaluate(MISSING_GLYPHS_JS)],
            screenshot=shot,
        )
        self.stops.append(stop)
        return stop


@asynccontextmanager
async def console_walk(folder: Path, *, executable: str = CHROMIUM) -> AsyncIterator[ConsoleWalk]:
    """Headless Chromium with a fresh profile and one tab, recording as `visit` does."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        async with async_playwright() as driver:
            context = await driver.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                args=list(CHROMIUM_ARGS),
                headless=True,
                viewport=ViewportSize(width=1200, height=900),
            )
            try:
                page = await context.new_page()
                walk = ConsoleWalk(page, folder)

                def on_console(message: ConsoleMessage) -> None:
                    if message.type in {"error", "assert"}:
                        walk.console_errors.append(f"{page.url}: {message.text}")

                page.on("console", on_console)
                page.on("pageerror", lambda error: walk.page_errors.append(str(error)))
                page.on("request", lambda request: walk.requests.append(request.url))
                yield walk
            finally:
                await context.close()


async def _main(out: Path, *, vetoes: bool, language: str) -> None:
    page = sample_page(vetoes=vetoes, language=language)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        html_file = Path(tmp) / "scorecard.html"
        html_file.write_text(scorecard_html(page), encoding="utf-8")
        seen = await visit(html_file.resolve().as_uri(), out)
    problems = seen.console_errors + seen.page_errors
    if seen.tofu:
        problems.append(f"drawn as empty boxes (run make tools): {''.join(seen.tofu)}")
    if problems:
        raise SystemExit(f"the page logged errors: {problems}")
    print(f"wrote {out} ({seen.width}×{seen.height} CSS px)")


def main() -> None:
    parser = argparse.ArgumentParser(description="Screenshot the sample HTML scorecard.")
    parser.add_argument("out", type=Path, help="the PNG to write, e.g. docs/scorecard.png")
    parser.add_argument("--vetoes", action="store_true", help="the sample with both vetoes")
    parser.add_argument("--language", choices=("en", "zh", "ja"), default="en")
    args = parser.parse_args()
    asyncio.run(_main(args.out, vetoes=args.vetoes, language=args.language))


if __name__ == "__main__":
    main()

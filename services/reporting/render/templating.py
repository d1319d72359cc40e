"""The Jinja2 environment every HTML page of reporting is drawn with: the printable scorecard
and the console. Templates live in `services/reporting/templates`; autoescaping is on for every
template, so a value is escaped unless it is `Markup` (the inline SVG charts, which escape
their own texts, and the stylesheets)."""

from functools import cache
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .labels import category_name, grade_name, status_name, trend_name, ui
from .numbers import in_unit, percent, plain, score, signed_score
from .page import text_in

HTML_LANG: Final = {"en": "en", "zh": "zh-Hans", "ja": "ja"}


@cache
def environment() -> Environment:
    """The one environment (templates are compiled once per process)."""
    env = Environment(
        loader=PackageLoader("services.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        ui=ui,
        grade_name=grade_name,
        status_name=status_name,
        category_name=category_name,
        trend_name=trend_name,
        text_in=text_in,
        html_lang=HTML_LANG,
    )
    env.filters.update(
        percent=percent,
        score=score,
        plain=plain,
        in_unit=in_unit,
        signed_score=signed_score,
    )
    return env


def render_page(template: str, **context: Any) -> str:
    """A template of `services/reporting/templates` rendered with `context`."""
    return environment().get_template(template).render(**context)


def trusted(html: str) -> Markup:
    """Text this package built and escaped itself (an SVG chart, a stylesheet)."""
    return Markup(html)  # noqa: S704 - our own escaped output, never a request's text

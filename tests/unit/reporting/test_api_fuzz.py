"""Whatever a client sends to the reporting service, the answer is never a 5xx: random path
segments and query strings on every route of `/api/v1`, every console page and the old
scorecard route, with any method and a garbage Accept-Language or cookie, against the
in-memory read models of `tests/support/console_data.py`. The other services' routes are
fuzzed in tests/unit/test_http_fuzz.py."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.console_data import reporting_app

ROUTES: Final = (
    "/api/v1/scores/{0}/{1}",
    "/api/v1/scorecards/{0}/{1}",
    "/api/v1/scorecards",
    "/api/v1/periods",
    "/api/v1/hierarchy",
    "/api/v1/alerts",
    "/api/v1/deadletters",
    "/api/v1/pipeline",
    "/api/v1/kpis",
    "/scorecards/{0}/{1}",
    "/{0}",
    "/{0}/{1}",
    # the console's pages
    "/",
    "/org",
    "/org/{0}",
    "/scorecards",
    "/alerts",
    "/data-quality",
    "/pipeline",
    "/runbooks/{0}",
    "/favicon.ico",
    "/healthz",
    "/readyz",
    "/metrics",
)
KEYS: Final = (
    "lang", "format", "period", "root", "depth", "kpi", "state", "severity", "level", "entity",
    "name", "limit", "page",
)  # fmt: skip
METHODS: Final = ("GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
HEADERS: Final = st.dictionaries(
    st.sampled_from(["accept-language", "cookie", "accept", "range", "if-none-match"]),
    st.one_of(
        st.sampled_from(["zh-CN,zh;q=0.9", "ja", "*", "xx;q=abc", "en;q=", "lang=zh", "bytes=9-1"]),
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    ),
    max_size=2,
)
# Mostly near misses of real values, then anything at all.
SEGMENTS: Final = st.one_of(
    st.sampled_from(
        [
            "branch:B01", "company:ACME", "agent:A0001", "team:T01", "region:R9", "branch:",
            ":B01", "2025-03", "FY2024", "FY2024-Q4", "FY2024-H3", "R30D", "R0D", "R9999D",
            "2025-00", "..", "%", "console", "entity",
        ]
    ),
    st.text(min_size=1, max_size=24),
)  # fmt: skip
VALUES: Final = st.one_of(
    st.sampled_from(["en", "zh", "ja", "csv", "html", "json", "-1", "99", "firing", "2025-03"]),
    st.text(max_size=16),
)


@dataclass
class Client:
    """Requests on an event loop of the test's own (hypothesis calls the test synchronously);
    the FastStream app (broker, database) is not started."""

    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient

    def get(self, path: str, params: dict[str, str]) -> httpx.Response:
        return self.loop.run_until_complete(self.http.get(path, params=params))

    def request(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> httpx.Response:
        return self.loop.run_until_complete(
            self.http.request(method, path, params=params, headers=headers)
        )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    loop = asyncio.new_event_loop()
    state = loop.run_until_complete(reporting_app())
    transport = httpx.ASGITransport(app=state.app.http, raise_app_exceptions=False)
    http = httpx.AsyncClient(transport=transport, base_url="http://console")
    yield Client(loop, http)
    loop.run_until_complete(http.aclose())
    loop.close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    route=st.sampled_from(ROUTES),
    segments=st.lists(SEGMENTS, min_size=2, max_size=2),
    query=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4),
    method=st.sampled_from(METHODS),
    headers=HEADERS,
)
def test_no_request_gets_a_5xx(
    client: Client,
    route: str,
    segments: list[str],
    query: dict[str, str],
    method: str,
    headers: dict[str, str],
) -> None:
    path = route.format(*(quote(s, safe=":") for s in segments))
    answer = client.request(method, path, query, headers)

    if path == "/readyz":  # 503 is its answer while the app is not started: by design
        assert answer.status_code in {200, 503, 405}, (method, answer.text)
        return
    assert answer.status_code < 500, (method, path, query, headers, answer.text)
    if path.startswith("/api/v1/") and method == "GET" and answer.status_code >= 400:
        assert answer.json()["detail"], (path, query)

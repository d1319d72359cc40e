"""Whatever a client sends to ingest, scoring or alerts, the answer is never a 5xx: any method,
path, query string and headers on their routes (/healthz, /readyz, /metrics) and beside them.
The apps are built, not started (nothing listens on port 1), so /readyz answers 503, which is
its answer for "not ready", not a failure. Reporting's routes are fuzzed in
tests/unit/reporting/test_api_fuzz.py.
"""

import asyncio
from collections.abc import Iterator
from typing import Final
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.registry import app_factory
from shared.settings import load_settings

SERVICES: Final = ("ingest", "scoring", "alerts")
PATHS: Final = st.one_of(
    st.sampled_from(["/healthz", "/readyz", "/metrics", "/", "/api/v1/scores", "/docs"]),
    st.builds(lambda s: "/" + quote(s, safe="/:"), st.text(max_size=30)),
)
METHODS: Final = st.sampled_from(["GET", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
QUERY: Final = st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=16), max_size=3)
HEADERS: Final = st.dictionaries(
    st.sampled_from(["accept", "accept-encoding", "content-type", "range", "x-forwarded-for"]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    max_size=2,
)


class Clients:
    """One in-process client per service on an event loop of the test's own (hypothesis calls
    the test synchronously)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        config = load_settings(
            KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
            MONGODB_URI="mongodb://127.0.0.1:1/?retryWrites=false",
        )
        self.http = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(
                    app=app_factory(name)(config).http, raise_app_exceptions=False
                ),
                base_url=f"http://{name}",
            )
            for name in SERVICES
        }

    def request(self, name: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        return self.loop.run_until_complete(self.http[name].request(method, path, **kwargs))  # type: ignore[arg-type]

    def close(self) -> None:
        for client in self.http.values():
            self.loop.run_until_complete(client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    built = Clients()
    yield built
    built.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(SERVICES),
    method=METHODS,
    path=PATHS,
    query=QUERY,
    headers=HEADERS,
    body=st.binary(max_size=64),
)
def test_no_request_gets_a_5xx(
    clients: Clients,
    name: str,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
) -> None:
    content = body if method in {"POST", "PUT"} else None
    answer = clients.request(name, method, path, params=query, headers=headers, content=content)
    if path == "/readyz" and method == "GET":
        assert answer.status_code == 503  # not started: not ready, by design
        assert answer.json()["reasons"]
        return
    assert answer.status_code < 500, (name, method, path, query, headers, answer.text)

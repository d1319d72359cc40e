"""The committed docs/openapi.json is the reporting service's API as its routes declare it, and
documents every route of `/api/v1` with its shapes and its 4xx."""

from pathlib import Path
from typing import Any, Final

import pytest

from services.reporting import openapi_doc

DOCS: Final = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_doc.build_openapi()


def test_the_committed_document_is_current() -> None:
    assert (DOCS / "openapi.json").is_file(), "docs/openapi.json is missing; run `make docs`"
    assert openapi_doc.is_current(DOCS), "docs/openapi.json is stale; run `make docs` and commit"
    assert openapi_doc.main(["--check", "--docs-dir", str(DOCS)]) == 0


def test_generation_is_deterministic() -> None:
    assert openapi_doc.openapi_text() == openapi_doc.openapi_text()


def test_check_reports_a_stale_or_missing_document_without_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert openapi_doc.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    assert list(tmp_path.iterdir()) == []
    assert openapi_doc.main(["--docs-dir", str(tmp_path)]) == 0
    assert openapi_doc.main(["--check", "--docs-dir", str(tmp_path)]) == 0

    (tmp_path / "openapi.json").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert openapi_doc.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    assert "stale:" in capsys.readouterr().err


def test_every_api_route_is_read_only_versioned_and_documents_its_refusals(
    document: dict[str, Any],
) -> None:
    api = {path: ops for path, ops in document["paths"].items() if path.startswith("/api/")}

    assert len(api) >= 9
    for path, operations in api.items():
        assert path.startswith("/api/v1/"), path
        assert set(operations) == {"get"}, path
        responses = operations["get"]["responses"]
        assert responses["4XX"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }, path
        assert "application/json" in responses["200"]["content"], path
    scorecard = api["/api/v1/scorecards/{entity}/{period}"]["get"]["responses"]["200"]
    assert set(scorecard["content"]) == {"application/json", "text/csv", "text/html"}
    assert {"/healthz", "/readyz", "/metrics"} <= set(document["paths"])


def test_no_shape_has_a_field_for_personal_data(document: dict[str, Any]) -> None:
    fields = {
        name
        for schema in document["components"]["schemas"].values()
        for name in schema.get("properties", {})
    }
    assert not {f for f in fields if "customer" in f or "phone" in f or "payload" in f}

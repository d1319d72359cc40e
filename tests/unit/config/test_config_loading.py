"""Reading the files: every failure is a ConfigError naming the file and the fix."""

from pathlib import Path

import pytest

from shared.config import load_calendar, load_org, read_yaml
from shared.errors import ConfigError


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    with pytest.raises(ConfigError) as caught:
        load_org(path)
    assert str(caught.value) == (
        f"{path}: file not found; create it (the repository's config/ holds an example) or set "
        "KPI_CONFIG_DIR to the directory that holds it"
    )


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_calendar(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory; point to the YAML file itself"


def test_yaml_syntax_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("company: ACME\nregions:\n  - {id: R1, coefficient: 1.1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_org(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line 4, column 1: invalid YAML: ")
    assert message.endswith(
        "; fix the syntax (indentation, a missing ':' or an unclosed quote or bracket)"
    )


def test_a_key_given_twice_is_refused_instead_of_silently_kept_last(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text("timezone: UTC\nallowed_lateness_days: 7\ntimezone: Asia/Tokyo\n")
    with pytest.raises(ConfigError) as caught:
        load_calendar(path)
    assert str(caught.value) == (
        f"{path}: line 3, column 1: invalid YAML: key 'timezone' is given twice (first on line "
        "1); keep one of them; fix the syntax (indentation, a missing ':' or an unclosed quote "
        "or bracket)"
    )


def test_a_list_as_a_key_is_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("? [a, b]\n: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML: found unhashable key"):
        read_yaml(path)


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_bytes("timezone: Asia/Tokyo # 東京\n".encode("shift_jis"))
    with pytest.raises(ConfigError) as caught:
        load_calendar(path)
    assert str(caught.value).startswith(f"{path}: not UTF-8 text (invalid byte at position ")


def test_unsafe_tags_are_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text("company: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        read_yaml(path)


def test_validation_errors_name_the_file_path_given(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text("fiscal_year_start_month: 13\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_calendar(str(path))
    assert str(caught.value).startswith(f"{path}: fiscal_year_start_month: must be at most 12")


def test_yaml_dates_and_decimals_are_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "company: ACME\n"
        "regions: [{id: R1, coefficient: 1.10}]\n"
        "branches: [{id: B01, region: R1, headcount: 5}]\n"
        "teams: [{id: T01, branch: B01}]\n"
        "agents: [{id: A1, team: T01, phone: '+81-90-0000-0001', from: 2024-04-01}]\n",
        encoding="utf-8",
    )
    org = load_org(path)
    region = org.region("R1")
    assert region is not None
    assert str(region.coefficient) == "1.1"
    assert org.assignments("A1")[0].valid_from.isoformat() == "2024-04-01"

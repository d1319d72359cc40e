"""The definitions version: a content hash of kpis.yaml, targets.yaml and scorecards.yaml as
loaded, and a label from definitions.yaml. Formatting and comments do not change the hash; a
value does."""

import shutil
from pathlib import Path
from typing import Final

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ConfigError
from shared.kpi.config import load_kpi_config
from shared.kpi.versions import canonical, definitions_hash, load_definitions
from shared.messages.definitions import Definitions

CONFIG_DIR: Final = Path(__file__).resolve().parents[3] / "config"


def copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def test_the_shipped_configuration_has_a_version_with_its_label() -> None:
    version = load_kpi_config(CONFIG_DIR).definitions
    assert version == load_definitions(CONFIG_DIR)
    assert version.label == "demo scheme 1"
    assert len(version.hash) == 16
    int(version.hash, 16)  # hex digits


def test_the_hash_is_the_sha256_of_the_canonical_json_of_the_three_documents() -> None:
    documents = {"kpis": {"kpis": [{"id": "a", "x": 0.9}]}, "targets": None, "scorecards": {}}
    assert (
        canonical(documents)
        == b'{"kpis":{"kpis":[{"id":"a","x":0.9}]},"scorecards":{},"targets":null}'
    )
    # sha256 of the line above, computed independently
    assert definitions_hash(documents) == "5c993096e8e33e5f"


def test_comments_formatting_and_key_order_do_not_change_the_hash(tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    before = load_definitions(config)
    kpis = config / "kpis.yaml"
    document = yaml.safe_load(kpis.read_text(encoding="utf-8"))
    for entry in document["kpis"]:  # reverse each entry's keys, then write flow style
        entry_items = list(entry.items())
        entry.clear()
        entry.update(reversed(entry_items))
    kpis.write_text(
        "# rewritten\n" + yaml.safe_dump(document, allow_unicode=True, default_flow_style=True),
        encoding="utf-8",
    )
    (config / "scorecards.yaml").write_text(
        (config / "scorecards.yaml").read_text(encoding="utf-8") + "\n# a comment at the end\n",
        encoding="utf-8",
    )
    assert load_definitions(config) == before


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("kpis.yaml", "default_target: 0.90  # ≥ 90 %", "default_target: 0.85  # ≥ 85 %"),
        ("targets.yaml", "satisfaction_mean: {branch: 85}", "satisfaction_mean: {branch: 88}"),
        (
            "scorecards.yaml",
            "grades: {excellent: 90, qualified: 80}",
            "grades: {excellent: 90, qualified: 75}",
        ),
    ],
)
def test_a_changed_value_in_any_of_the_three_files_changes_the_hash(
    tmp_path: Path, file: str, old: str, new: str
) -> None:
    config = copy_config(tmp_path)
    before = load_definitions(config)
    path = config / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    after = load_definitions(config)
    assert after.hash != before.hash
    assert after.label == before.label


def test_the_label_is_not_hashed_and_is_optional(tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    before = load_definitions(config)
    (config / "definitions.yaml").write_text("label: FY2025 scheme\n", encoding="utf-8")
    relabelled = load_definitions(config)
    (config / "definitions.yaml").unlink()
    unlabelled = load_definitions(config)
    assert relabelled == Definitions(hash=before.hash, label="FY2025 scheme")
    assert unlabelled == Definitions(hash=before.hash, label=None)


def test_a_draft_profiles_file_replaces_scorecards_yaml_in_the_hash(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    shutil.copy(CONFIG_DIR / "scorecards.yaml", draft)
    assert load_definitions(CONFIG_DIR, scorecards=draft) == load_definitions(CONFIG_DIR)
    draft.write_text(
        draft.read_text(encoding="utf-8").replace("trend_flat_within: 0.5", "trend_flat_within: 1")
    )
    assert load_definitions(CONFIG_DIR, scorecards=draft).hash != load_definitions(CONFIG_DIR).hash


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lable: x\n", "definitions.yaml: lable: unknown field"),
        ("label: ''\n", "definitions.yaml: label:"),
        (f"label: {'x' * 81}\n", "definitions.yaml: label:"),
    ],
)
def test_a_bad_definitions_file_names_the_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    config = copy_config(tmp_path)
    (config / "definitions.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_definitions(config)
    assert message in str(raised.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=4), json_values, max_size=4))
def test_the_hash_ignores_key_order(document: dict[str, object]) -> None:
    reordered = dict(reversed(list(document.items())))
    assert definitions_hash({"kpis": document}) == definitions_hash({"kpis": reordered})

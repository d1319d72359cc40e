"""The definitions the API and console answer with follow a reload (a generation switch that
reporting followed): both files at once, checked as at start-up."""

import shutil
from pathlib import Path

import pytest
import yaml

from services.reporting.domain import load_profiles
from services.reporting.reads import InForce
from shared.config.issues import InvalidConfig
from shared.kpi.config import load_kpi_config
from tests.support.config_copies import TOP2_SHARE_KPI

NEW_KPI = TOP2_SHARE_KPI


def _loaded(config: Path) -> InForce:
    kpis = load_kpi_config(config)
    return InForce(kpis, load_profiles(config, kpis.catalogue, org=kpis.org))


def test_a_reload_answers_with_the_new_files(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree("config", config)
    in_force = _loaded(config)
    old_hash = in_force.config.definitions.hash
    kpis = yaml.safe_load((config / "kpis.yaml").read_text(encoding="utf-8"))
    kpis["survey_boxes"] = [
        {"id": "survey_top_box", "at_least": {10: 9, 5: 5, 100: 90}},
        {"id": "survey_top2_box", "at_least": {10: 7, 5: 4, 100: 70}},
    ]
    kpis["kpis"].append(NEW_KPI)
    (config / "kpis.yaml").write_text(yaml.safe_dump(kpis, allow_unicode=True), encoding="utf-8")

    in_force.reload(config)

    assert in_force.config.catalogue["survey_top2_share"].label("ja") == "上位2段階の割合"
    assert in_force.config.definitions.hash != old_hash
    assert in_force.profiles == _loaded(config).profiles


def test_a_reload_of_bad_files_keeps_what_was_in_force(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree("config", config)
    in_force = _loaded(config)
    before = (in_force.config, in_force.profiles)
    (config / "kpis.yaml").write_text("kpis: [{id: 7}]\n", encoding="utf-8")

    with pytest.raises(InvalidConfig):
        in_force.reload(config)

    assert (in_force.config, in_force.profiles) == before

"""The demo company cut for `kpi run`: every n-th agent of each team, every team, branch and
region kept with its names, headcounts and premium plans shrunk by the share kept."""

from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest

from services.demo.generator import volume_scale
from services.demo.sizing import every_nth_agent, scaled_money_targets, scaled_plans
from shared.config import Level, OrgChart, read_yaml

CONFIG: Final = Path(__file__).resolve().parents[3] / "config"


@pytest.fixture(scope="module")
def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    org, targets = read_yaml(CONFIG / "org.yaml"), read_yaml(CONFIG / "targets.yaml")
    assert isinstance(org, dict)
    assert isinstance(targets, dict)
    return org, targets


def test_every_team_branch_and_region_stays_with_its_names(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    full = OrgChart.from_document(documents[0])
    cut = OrgChart.from_document(every_nth_agent(*documents, 14)[0])
    for level in (Level.REGION, Level.BRANCH, Level.TEAM):
        assert cut.entities(level) == full.entities(level)
    assert cut.name("branch:B03", "ja") == "横浜支店"
    assert cut.name("agent:A0001", "en") == full.name("agent:A0001", "en")


def test_every_nth_agent_of_each_team_is_kept(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    org, _ = every_nth_agent(*documents, 14)
    cut = OrgChart.from_document(org)
    assert len(cut.agent_ids) == 83
    assert "A0001" in cut.agent_ids
    first_of_t01 = [a["id"] for a in documents[0]["agents"] if a["team"] == "T01"]
    assert [a for a in first_of_t01 if a in cut.agent_ids] == first_of_t01[::14]
    # Every team keeps at least one agent, and a kept agent keeps every assignment (moves).
    assert {a["team"] for a in org["agents"]} == {t.id for t in cut.teams}
    for agent_id in cut.agent_ids:
        full = [a for a in documents[0]["agents"] if a["id"] == agent_id]
        assert len(cut.assignments(agent_id)) == len(full)


def test_headcounts_and_plans_shrink_by_the_share_kept(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    org, targets = every_nth_agent(*documents, 14)
    full = OrgChart.from_document(documents[0])
    cut = OrgChart.from_document(org)
    for branch in cut.branches:
        before = full.branch(branch.id)
        assert before is not None
        assert branch.headcount < before.headcount
        assert branch.headcount >= len(
            [a for a in cut.agent_ids if cut.branch_of(f"agent:{a}") == f"branch:{branch.id}"]
        )
    share = Decimal(len(cut.agent_ids)) / len(full.agent_ids)
    plan = targets["premium_plan"]
    assert Decimal(plan["branch_baseline_per_year"]) == (Decimal("2000000000") * share).quantize(
        Decimal(1)
    )
    assert Decimal(plan["entities"]["branch:B01"]["FY2024"]) < Decimal("2600000000")


def test_the_documents_given_are_left_alone(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    agents = len(documents[0]["agents"])
    every_nth_agent(*documents, 14)
    assert len(documents[0]["agents"]) == agents
    assert documents[1]["premium_plan"]["branch_baseline_per_year"] == "2000000000"


def test_every_one_keeps_the_whole_company(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    assert every_nth_agent(*documents, 1) == documents
    with pytest.raises(ValueError, match="≥ 1"):
        every_nth_agent(*documents, 0)


def test_plans_scale_by_a_share(documents: tuple[dict[str, Any], dict[str, Any]]) -> None:
    targets = scaled_plans(documents[1], Decimal("0.25"))
    assert targets["premium_plan"]["branch_baseline_per_year"] == "500000000"
    assert targets["premium_plan"]["entities"]["branch:B01"]["FY2024"] == "650000000"
    assert targets["kpis"] == documents[1]["kpis"]
    assert scaled_plans({"kpis": {}}, Decimal(2)) == {"kpis": {}}


def test_the_volume_scale_is_the_share_of_the_natural_volume() -> None:
    org = OrgChart.from_document(read_yaml(CONFIG / "org.yaml"))
    assert volume_scale(org, seed=7, events_per_day=None) == 1.0
    natural = volume_scale(org, seed=7, events_per_day=3_900)
    assert 0.95 < natural < 1.05  # about four events per agent a day
    assert volume_scale(org, seed=7, events_per_day=1_950) < natural


def test_money_targets_shrink_with_the_company_and_its_volume() -> None:
    scorecards = read_yaml(CONFIG / "scorecards.yaml")
    assert isinstance(scorecards, dict)
    money = {"renewal_premium", "new_business_premium", "per_capita_premium"}
    cut = scaled_money_targets(scorecards, money, share=Decimal("0.1"), volume=Decimal("0.5"))
    targets = {
        (profile["id"], line["kpi"]): line.get("target")
        for profile in cut["profiles"]
        for line in profile["kpis"]
    }
    # A target per level is an entity's total: × the share of agents and of the volume.
    assert targets[("branch", "new_business_premium")]["per_year"] == {
        "branch": "12500000",
        "region": "50000000",
        "company": "150000000",
    }
    # A target per clerk or per head: × the share of the volume only.
    assert targets[("renewal_clerk", "renewal_premium")]["per_year"] == "8000000"
    assert targets[("branch", "per_capita_premium")]["per_year"] == "11000000"
    # Counts and everything else stay.
    assert targets[("service_centre", "training_hours")] == {"per_year": 24, "per_head": True}
    assert cut["assign"] == scorecards["assign"]

"""The demo company cut to a size a laptop backfills in a minute or two.

`config/org.yaml` is a network of 1,000 agents: at its natural volume (about four events per
agent a day) thirteen months of it are some 1.5 million events, half an hour of the local
stack. `every_nth_agent` keeps every n-th agent of each team, so that every region, branch and
team stays (with its names); branch headcounts and the premium plans shrink by the share of
agents kept, so per-capita premium and plan attainment read as they would for the whole
company. When the stream is thinned too (`generate_events(events_per_day=…)`), `scaled_plans`
shrinks the plans by the share of the natural volume it carries, and `scaled_money_targets`
the scorecards' money targets.
"""

import copy
from collections import defaultdict
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Document = dict[str, Any]


def _kept(agents: list[Document], every: int) -> set[str]:
    """Every n-th agent of each team, in file order (a mover counts in each team they join)."""
    by_team: dict[str, list[str]] = defaultdict(list)
    for agent in agents:
        if agent["id"] not in by_team[agent["team"]]:
            by_team[agent["team"]].append(agent["id"])
    return {agent_id for ids in by_team.values() for agent_id in ids[::every]}


def _latest_branch(agents: list[Document], teams: dict[str, str]) -> dict[str, str]:
    latest: dict[str, Document] = {}
    for agent in agents:
        if agent["id"] not in latest or str(agent["from"]) > str(latest[agent["id"]]["from"]):
            latest[agent["id"]] = agent
    return {agent_id: teams[agent["team"]] for agent_id, agent in latest.items()}


def _scaled(amount: object, share: Decimal) -> str:
    return str((Decimal(str(amount)) * share).quantize(Decimal(1), ROUND_HALF_UP))


def every_nth_agent(org: Document, targets: Document, every: int) -> tuple[Document, Document]:
    """`org.yaml` and `targets.yaml` (as parsed) of the company with every n-th agent of each
    team; the documents given are not changed. `every=1` keeps the whole company."""
    if every < 1:
        raise ValueError("every must be ≥ 1")
    org, targets = copy.deepcopy(org), copy.deepcopy(targets)
    if every == 1:
        return org, targets
    agents: list[Document] = org["agents"]
    kept = _kept(agents, every)
    branch_of = _latest_branch(agents, {t["id"]: t["branch"] for t in org["teams"]})
    total: dict[str, int] = defaultdict(int)
    staying: dict[str, int] = defaultdict(int)
    for agent_id, branch in branch_of.items():
        total[branch] += 1
        staying[branch] += agent_id in kept
    for branch in org["branches"]:
        if total[branch["id"]]:
            share = Decimal(staying[branch["id"]]) / total[branch["id"]]
            branch["headcount"] = max(
                int(_scaled(branch["headcount"], share)), staying[branch["id"]]
            )
    org["agents"] = [a for a in agents if a["id"] in kept]
    return org, scaled_plans(targets, Decimal(len(kept)) / len(branch_of))


def scaled_plans(targets: Document, share: Decimal) -> Document:
    """`targets.yaml` (as parsed) with every premium plan multiplied by `share`, e.g. the share
    of agents kept, or of the natural volume the demo stream carries."""
    targets = copy.deepcopy(targets)
    plan = targets.get("premium_plan")
    if isinstance(plan, dict):
        if "branch_baseline_per_year" in plan:
            plan["branch_baseline_per_year"] = _scaled(plan["branch_baseline_per_year"], share)
        for periods in (plan.get("entities") or {}).values():
            for period, amount in periods.items():
                periods[period] = _scaled(amount, share)
    return targets


def scaled_money_targets(
    scorecards: Document, money_kpis: Collection[str], *, share: Decimal, volume: Decimal
) -> Document:
    """`scorecards.yaml` (as parsed) with the yearly money targets of its profiles cut to a
    smaller, thinner company: a target per level (`{branch: …, region: …}`, an entity's total)
    × the share of agents kept × the share of the natural volume; a single target (per clerk,
    per head) × the share of the natural volume. Counts (training hours) and ratios stay."""
    scorecards = copy.deepcopy(scorecards)
    for profile in scorecards.get("profiles") or []:
        for line in profile.get("kpis") or []:
            target = line.get("target")
            if line.get("kpi") not in money_kpis or not isinstance(target, dict):
                continue
            per_year = target.get("per_year")
            if isinstance(per_year, dict):
                target["per_year"] = {
                    level: _scaled(amount, share * volume) for level, amount in per_year.items()
                }
            elif per_year is not None:
                target["per_year"] = _scaled(per_year, volume)
    return scorecards

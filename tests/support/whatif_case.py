"""The what-if case shared by the unit and integration tests: a small company (ACME: region R1,
branches B01 and B08, agents A1 and A2 in team T01) scored on the read-model scenario
(`score_queries_contract`: agent A1's satisfaction 80 in May 2024), and a draft of the shipped
scorecards.yaml in which a renewal clerk's satisfaction target is 80 (85 officially) and a
clerk qualifies from 15 points (80 officially).

Under the official profiles A1's May scorecard earns 15 × 80 / 85 = 14.12 points (needs
improvement); under the draft 15 × 80 / 80 = 15.00 (qualified): one grade up, one final score
+0.88; every other entity's figures stay as they are."""

import shutil
from pathlib import Path
from typing import Final

CONFIG_DIR: Final = Path(__file__).resolve().parents[2] / "config"
ORG_YAML: Final = """\
company: ACME
regions:
  - {id: R1, coefficient: 1.0}
branches:
  - {id: B01, region: R1, headcount: 2}
  - {id: B08, region: R1, headcount: 1}
teams:
  - {id: T01, branch: B01}
  - {id: T08, branch: B08}
agents:
  - {id: A1, team: T01, phone: "+81-90-0000-0001", from: 2020-04-01}
  - {id: A2, team: T01, phone: "+81-90-0000-0002", from: 2020-04-01}
"""
CLERK_SATISFACTION: Final = (
    "        weight: 15\n        method: proportional\n      # capability 10: working efficiency"
)
CLERK_LABELS: Final = "    labels: {en: Renewal clerk, zh: 续保员, ja: 続保担当者}\n"


def company_config(tmp_path: Path) -> Path:
    """The shipped configuration with the small company's org.yaml."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "org.yaml").write_text(ORG_YAML, encoding="utf-8")
    return config


def draft_profiles(tmp_path: Path) -> Path:
    """The draft: scorecards.yaml with the clerk's satisfaction target 80 and qualifying at 15."""
    text = (CONFIG_DIR / "scorecards.yaml").read_text(encoding="utf-8")
    assert text.count(CLERK_SATISFACTION) == 1
    assert text.count(CLERK_LABELS) == 1
    text = text.replace(
        CLERK_SATISFACTION,
        CLERK_SATISFACTION.replace("proportional\n", "proportional\n        target: 80\n"),
    ).replace(CLERK_LABELS, CLERK_LABELS + "    grades: {excellent: 90, qualified: 15}\n")
    draft = tmp_path / "draft-scorecards.yaml"
    draft.write_text(text, encoding="utf-8")
    return draft

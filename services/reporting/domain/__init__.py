"""Pure reporting domain: scorecard profiles, scoring methods, grades, vetoes, rank, trend and
coaching quadrants (DESIGN §6). Nothing here imports FastStream, aiokafka or pymongo.

- `profiles`: `config/scorecards.yaml` validated (`load_profiles`, `ScorecardConfig`);
- `methods`: proportional and banded points; `grading`: grades and vetoes;
- `targets`: which target a line is measured against (profile, scoring, catalogue);
- `build`: one entity's scorecard; `context`: rank among peers, trend, quadrant.
"""

from .build import KpiFigures, KpiReading, ScorecardInputs, build_scorecard
from .config_models import (
    Band,
    BandMeasure,
    FallbackUse,
    GradeBands,
    Method,
    ProfileKpi,
    QuadrantScheme,
    QualitativeFallback,
    Split,
    YearlyTarget,
)
from .context import classify_quadrant, rank_scorecards, trend_of
from .grading import GRADE_LABELS, cap_grade, find_vetoes, grade_for, veto_of
from .methods import band_points, band_share, points_attainment, proportional_points
from .profiles import SCORECARDS_FILE, Profile, ScorecardConfig, load_profiles
from .targets import TargetBasis, region_coefficient, resolve_target, yearly_target

__all__ = [
    "GRADE_LABELS",
    "SCORECARDS_FILE",
    "Band",
    "BandMeasure",
    "FallbackUse",
    "GradeBands",
    "KpiFigures",
    "KpiReading",
    "Method",
    "Profile",
    "ProfileKpi",
    "QuadrantScheme",
    "QualitativeFallback",
    "ScorecardConfig",
    "ScorecardInputs",
    "Split",
    "TargetBasis",
    "YearlyTarget",
    "band_points",
    "band_share",
    "build_scorecard",
    "cap_grade",
    "classify_quadrant",
    "find_vetoes",
    "grade_for",
    "load_profiles",
    "points_attainment",
    "proportional_points",
    "rank_scorecards",
    "region_coefficient",
    "resolve_target",
    "trend_of",
    "veto_of",
    "yearly_target",
]

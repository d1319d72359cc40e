"""The scorecard as JSON (DESIGN §11): the `kpi.scorecards.v1` message itself, decimals as
strings, so `Scorecard.model_validate_json` reads it back unchanged."""

from shared.messages.scorecard import Scorecard


def scorecard_json(scorecard: Scorecard, *, indent: int | None = 2) -> str:
    """The scorecard as a JSON document (UTF-8 text; CJK kept as written, not escaped)."""
    return scorecard.model_dump_json(indent=indent)

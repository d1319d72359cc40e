"""Which definitions version an alert names: the score's it evaluated, so that after a
generation switch (`kpi recompute`) alerts name the new version without a restart of the
alerts service; the version the service loaded for rules on events, and for a score that
names none (published before versions existed)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from services.alerts.domain.engine import AlertEngine
from services.alerts.domain.rules import load_rules
from shared.config.loading import load_calendar
from shared.kpi.catalogue import load_catalogue
from shared.kpi.fiscal_calendar import FiscalCalendar
from shared.messages import AlertState, Definitions, Score

CONFIG: Final = Path("config")
T0: Final = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)
LOADED: Final = Definitions(hash="0123456789abcdef", label="FY2024 scheme")
SWITCHED: Final = Definitions(hash="fedcba9876543210", label="top box from 8")


def engine() -> AlertEngine:
    catalogue = load_catalogue(CONFIG / "kpis.yaml")
    rules = load_rules(CONFIG / "alerts.yaml", kpi_ids={k.id for k in catalogue})
    calendar = FiscalCalendar(load_calendar(CONFIG / "calendar.yaml"))
    return AlertEngine(rules, calendar, started_at=T0, definitions=LOADED)


def renewals(value: str, minutes: float, definitions: Definitions | None) -> Score:
    rate = Decimal(value)
    return Score(
        score_id=Score.make_id(
            "branch:B01",
            "2024-05",
            "renewal_rate",
            numerator=rate,
            denominator=Decimal(1),
            revision=1,
        ),
        entity="branch:B01",
        period="2024-05",
        kpi="renewal_rate",
        value=rate,
        numerator=rate,
        denominator=Decimal(1),
        target=None,
        attainment=None,
        revision=1,
        as_of=T0 + timedelta(minutes=minutes),
        definitions=definitions,
    )


def test_an_alert_names_the_definitions_of_the_score_it_evaluated() -> None:
    alerts = engine()
    alerts.on_scores([renewals("0.5", 0, SWITCHED)])

    [fired], _ = alerts.on_scores([renewals("0.5", 11, SWITCHED)])
    [resolved], _ = alerts.on_scores([renewals("0.95", 12, SWITCHED)])

    assert (fired.state, fired.definitions) == (AlertState.FIRING, SWITCHED)
    assert (resolved.state, resolved.definitions) == (AlertState.RESOLVED, SWITCHED)


def test_a_score_that_names_no_version_gets_the_one_the_service_loaded() -> None:
    alerts = engine()
    alerts.on_scores([renewals("0.5", 0, None)])

    [fired], _ = alerts.on_scores([renewals("0.5", 11, None)])

    assert fired.definitions == LOADED


def test_a_switch_while_firing_resolves_under_the_new_version() -> None:
    """Fired under the old definitions; the recomputed score (top box moved) clears it."""
    alerts = engine()
    alerts.on_scores([renewals("0.5", 0, LOADED)])
    [fired], _ = alerts.on_scores([renewals("0.5", 11, LOADED)])

    [resolved], _ = alerts.on_scores([renewals("0.9", 12, SWITCHED)])

    assert (fired.definitions, resolved.definitions) == (LOADED, SWITCHED)
    assert resolved.started_at == fired.started_at

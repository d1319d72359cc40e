"""The firing → resolved lifecycle of alerts (DESIGN §8), as a pure in-memory book.

One alert per (rule, entity, KPI, period), with a deterministic `alert_id`. `AlertBook.observe`
is told each evaluation's answer and returns a message only when something changed: the alert
fires, its severity changes while firing, or it resolves. The same condition seen again while
firing returns nothing, so consumers never see duplicates; after a resolve it may fire again,
as a new episode with a new `started_at` under the same id.

Hold: a breach must be seen continuously for the rule's `hold` before the alert fires, measured
on the `now` the caller passes: stream time for score rules (the score's `as_of`) and fraud
(the survey's `occurred_at`), wall-clock time for staleness. A clear answer during the hold
forgets the pending breach. `started_at` is when the breach was first seen, not when the hold
ran out.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from shared.messages.alert import Alert, AlertMessages, AlertState
from shared.messages.definitions import Definitions

from .evaluation import Breach
from .rules import AlertRule, runbook_url


class _Fields(dict[str, str]):
    """Placeholder values for `str.format_map`; any the breach lacks read 'n/a'."""

    def __missing__(self, key: str) -> str:
        return "n/a"


def _shown(value: Decimal | None) -> str:
    return "n/a" if value is None else format(value.normalize(), "f")


def render_messages(
    rule: AlertRule, entity: str, *, kpi: str | None, period: str | None, breach: Breach
) -> AlertMessages:
    """The rule's en/zh/ja messages with {rule} {entity} {kpi} {period} {value} {threshold}
    {customers} {source} {minutes} filled in."""
    customers = breach.evidence.get("customer_ids")
    source = breach.evidence.get("source")
    fields = _Fields(
        rule=rule.id,
        entity=entity,
        kpi=kpi or "n/a",
        period=period or "n/a",
        value=_shown(breach.value),
        threshold=_shown(breach.threshold),
        minutes=_shown(breach.value),
    )
    if isinstance(customers, list):
        fields["customers"] = ", ".join(str(c) for c in customers)
    if isinstance(source, str):
        fields["source"] = source
    texts = rule.messages
    return AlertMessages(
        en=texts.en.format_map(fields),
        zh=texts.zh.format_map(fields),
        ja=texts.ja.format_map(fields),
    )


@dataclass(slots=True)
class _Track:
    pending_since: datetime | None = None
    firing: Alert | None = None


class AlertBook:
    """Every alert's state; not thread-safe (one consumer task owns it)."""

    def __init__(
        self, *, runbook_base_url: str | None = None, definitions: Definitions | None = None
    ) -> None:
        self._runbook_base_url = runbook_base_url
        self._definitions = definitions  # stamped on every alert sent
        self._tracks: dict[str, _Track] = {}

    def restore(self, alerts: Iterable[Alert]) -> None:
        """Rebuild from stored alerts after a restart, so firing ones are not sent again."""
        for alert in alerts:
            track = self._tracks.setdefault(alert.alert_id, _Track())
            track.firing = alert if alert.state is AlertState.FIRING else None

    def firing(self) -> Mapping[str, Alert]:
        """The alerts firing now, by id."""
        return {key: t.firing for key, t in self._tracks.items() if t.firing is not None}

    def observe(
        self,
        rule: AlertRule,
        entity: str,
        *,
        kpi: str | None,
        period: str | None,
        breach: Breach | None,
        now: datetime,
        definitions: Definitions | None = None,
    ) -> Alert | None:
        """Record one evaluation; the alert to publish when it fires, changes severity or
        resolves, else None. `definitions`: the version of the value evaluated (a score's),
        stamped on the alert; None for the version the service loaded (rules on events)."""
        definitions = definitions or self._definitions
        alert_id = Alert.make_id(rule.id, entity, kpi, period)
        track = self._tracks.setdefault(alert_id, _Track())
        if breach is None:
            track.pending_since = None
            fired, track.firing = track.firing, None
            if fired is None:
                return None
            return fired.model_copy(
                update={
                    "state": AlertState.RESOLVED,
                    "resolved_at": max(now, fired.started_at),
                    "definitions": definitions,
                }
            )
        if track.firing is not None:
            if breach.severity is track.firing.severity:
                return None
            track.firing = self._alert(
                alert_id,
                rule,
                entity,
                kpi=kpi,
                period=period,
                breach=breach,
                started_at=track.firing.started_at,
                definitions=definitions,
            )
            return track.firing
        if track.pending_since is None or now < track.pending_since:
            track.pending_since = now
        hold: timedelta = getattr(rule, "hold", timedelta(0))
        if now - track.pending_since < hold:
            return None
        track.firing = self._alert(
            alert_id,
            rule,
            entity,
            kpi=kpi,
            period=period,
            breach=breach,
            started_at=track.pending_since,
            definitions=definitions,
        )
        track.pending_since = None
        return track.firing

    def _alert(
        self,
        alert_id: str,
        rule: AlertRule,
        entity: str,
        *,
        kpi: str | None,
        period: str | None,
        breach: Breach,
        started_at: datetime,
        definitions: Definitions | None,
    ) -> Alert:
        messages = render_messages(rule, entity, kpi=kpi, period=period, breach=breach)
        return Alert(
            alert_id=alert_id,
            rule=rule.id,
            severity=breach.severity,
            state=AlertState.FIRING,
            entity=entity,
            kpi=kpi,
            period=period,
            value=breach.value,
            threshold=breach.threshold,
            message=messages.en,
            messages=messages,
            runbook_url=runbook_url(rule, self._runbook_base_url),
            started_at=started_at,
            resolved_at=None,
            evidence=dict(breach.evidence),
            definitions=definitions,
        )

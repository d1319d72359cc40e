"""Which published alerts the store missed, with no I/O.

The service publishes an alert, then stores it. A crash between the two leaves the alert on
`kpi.alerts.v1` and not in the store; restored from the store alone, the engine would find the
same condition again in the re-read batch and send the firing once more. So at start the
service reads what was published and adopts what the store missed (docs/alerts.md, "Restarts").
"""

from collections.abc import Iterable, Mapping

from shared.messages.alert import Alert


def missed_by_store(stored: Mapping[str, Alert], published: Iterable[Alert]) -> list[Alert]:
    """For each alert id, the newest message published (in topic order) when the stored one is
    absent or an earlier message of the same id: the store missed what came after it. A stored
    message the topic does not hold (a topic that lost records) is kept: the store wins."""
    sequences: dict[str, list[Alert]] = {}
    for alert in published:
        sequences.setdefault(alert.alert_id, []).append(alert)
    missed = []
    for alert_id, sequence in sequences.items():
        newest = sequence[-1]
        mine = stored.get(alert_id)
        if mine is None or (mine != newest and mine in sequence):
            missed.append(newest)
    return missed

"""Survey answers after an issue or a renewal, with the fake callbacks of suspicious agents.

Ids: ``SV-<policy or renewal id>``.
"""

import random
import zlib
from datetime import date
from typing import Final

from .documents import SCHEMA_VERSION, Document
from .profiles import CALLBACK_SHARE, SOURCE_SURVEY
from .sampling import BELOW_5, BELOW_10, ONLINE, SCALE, SURVEY_CHANNEL, below, between
from .scheduler import Scheduler
from .world import Member

_RING_PHONES: Final = ("+81-80-9999-0001", "+81-80-9999-0002")


def survey(
    schedule: Scheduler,
    rng: random.Random,
    *,
    day: date,
    response_id: str,
    policy_id: str,
    customer_id: str,
    member: Member,
) -> None:
    """Schedule a survey answer to a policy or renewal on `day`."""
    scale = SCALE.draw(rng)
    top = rng.random() < member.profile.top_box
    if scale == 10:
        score = 9 + below(rng, 2) if top else BELOW_10.draw(rng)
    elif scale == 5:
        score = 5 if top else BELOW_5.draw(rng)
    else:
        score = between(rng, 90, 100) if top else round(rng.triangular(35, 89, 80))
    document: Document = {
        "event_type": "survey",
        "event_id": response_id,
        "source": SOURCE_SURVEY,
        "schema_version": SCHEMA_VERSION,
        "agent_id": member.agent_id,
        "response_id": response_id,
        "policy_id": policy_id,
        "customer_id": customer_id,
        "scale": scale,
        "score": score,
        "channel": SURVEY_CHANNEL.draw(rng),
        "agent_phone": member.phone,
    }
    if member.profile.suspicious:
        # Fake callbacks (seed 004): the agent's own number, or one number for many customers.
        roll = rng.random()
        if roll < 0.4:
            document["callback_phone"] = member.phone
        elif roll < 0.8:
            document["callback_phone"] = _RING_PHONES[below(rng, 2)]
    elif rng.random() < CALLBACK_SHARE:
        document["callback_phone"] = _customer_phone(customer_id)
    schedule.push(schedule.at(day, rng, ONLINE), document)


def _customer_phone(customer_id: str) -> str:
    number = zlib.crc32(customer_id.encode()) % 100_000_000
    return f"+81-80-{number // 10_000:04d}-{number % 10_000:04d}"

"""A renewal in progress: its steps from the `due` notice to the outcome, and their documents."""

from datetime import date

from .documents import SCHEMA_VERSION, Document, book_customer, book_policy, renewal_id
from .profiles import SOURCE_POLICY, SOURCE_RENEWAL
from .world import Member


class RenewalFlow:
    """One renewal, from its `due` notice to its outcome; sits in the heap at its next step."""

    __slots__ = (
        "book_index",
        "channel",
        "due",
        "index",
        "member",
        "premium",
        "product",
        "steps",
        "times",
    )

    def __init__(
        self,
        *,
        member: Member,
        book_index: int,
        due: date,
        product: str,
        premium: int,
        channel: str,
        times: tuple[int, ...],
        steps: str,
    ) -> None:
        self.member = member
        self.book_index = book_index
        self.due = due
        self.product = product
        self.premium = premium
        self.channel = channel
        self.times = times
        self.steps = steps  # D due, C contacted, R renewed, L lost, P policy record renewed
        self.index = 0

    @property
    def renewal_id(self) -> str:
        return renewal_id(self.member.agent_id, self.due, self.book_index)

    @property
    def policy_id(self) -> str:
        return book_policy(self.member.agent_id, self.book_index)

    def document(self, step: int, currency: str) -> Document:
        code = self.steps[step]
        renewal_id = self.renewal_id
        if code == "P":
            return {
                "event_type": "policy",
                "event_id": f"{self.policy_id}:renewed:{self.due:%Y%m%d}",
                "source": SOURCE_POLICY,
                "schema_version": SCHEMA_VERSION,
                "agent_id": self.member.agent_id,
                "policy_id": self.policy_id,
                "customer_id": book_customer(self.member.agent_id, self.book_index),
                "action": "renewed",
                "product_line": self.product,
                "premium": str(self.premium),
                "currency": currency,
                "channel": self.channel,
                "new_business": False,
                "referral": False,
            }
        action = {"D": "due", "C": "contacted", "R": "renewed", "L": "lost"}[code]
        event_id = f"{renewal_id}:{action}" + (f":{step}" if code == "C" else "")
        return {
            "event_type": "renewal",
            "event_id": event_id,
            "source": SOURCE_RENEWAL,
            "schema_version": SCHEMA_VERSION,
            "agent_id": self.member.agent_id,
            "renewal_id": renewal_id,
            "policy_id": self.policy_id,
            "action": action,
            "due_date": self.due.isoformat(),
            "premium": str(self.premium),
            "currency": currency,
            "channel": self.channel,
        }

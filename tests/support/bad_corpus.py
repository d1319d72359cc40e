"""Deterministic corpora of upstream messages for the ingest service's tests.

`bad_messages` returns at least 200 rejected messages, each with the dead-letter reason ingest
must give it, covering every `RejectReason` at least 10 times (`empty_value` once: an empty
value has one spelling). `good_messages` yields valid
ones. Both write code lists in English, Chinese and Japanese (aliases of `config/codes.yaml`,
some upper-case or full-width), so the expected outcomes hold for the pipeline
parse → `CodeBook.normalise` → `validate_document`, not for `decode_upstream` alone.

Two reasons depend on ingest's state rather than the bytes, and the corpus states its side:

- unknown_entity: valid messages whose `agent_id` is not in `agent_ids`;
- too_late: valid messages, known agents, `occurred_at` at or before `too_late_at` (the caller
  picks an instant well before the rest of its stream, and ingest's rule must reject it).

Everything is built from fixed seeds: the same arguments give the same bytes.
"""

import itertools
import json
import random
import re
from collections.abc import Callable, Collection, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Final, NamedTuple

from shared.events import MAX_MESSAGE_BYTES, RejectReason
from shared.events.fields import IDENTIFIER_PATTERN

DEFAULT_START: Final = datetime(2024, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
SEED: Final = 20240401

Document = dict[str, Any]


class BadMessage(NamedTuple):
    """One rejected message: its exact bytes and the reason ingest must give it."""

    raw: bytes
    reason: RejectReason


# Canonical value → (English, Chinese, Japanese) alias, as written in config/codes.yaml.
WORDS: Final[dict[str, dict[str, tuple[str, str, str]]]] = {
    "channel": {
        "face_to_face": ("face-to-face", "面对面", "対面"),
        "online": ("web", "线上", "インターネット"),
        "phone": ("telephone", "电话", "電話"),
        "mail": ("postal", "邮寄", "郵送"),
        "bank": ("bancassurance", "银保", "銀行窓販"),
        "other": ("others", "其他", "その他"),
    },
    "policy_action": {
        "issued": ("new business", "承保", "新契約"),
        "renewed": ("renewal", "续保", "更新"),
        "lapsed": ("lapse", "失效", "失効"),
        "surrendered": ("surrender", "退保", "解約"),
        "reinstated": ("reinstatement", "复效", "復活"),
        "cancelled": ("cancellation", "撤单", "解除"),
    },
    "renewal_action": {
        "due": ("renewal due", "到期", "満期"),
        "contacted": ("reached", "已联系", "連絡済"),
        "renewed": ("renew", "续保", "更新"),
        "lost": ("not renewed", "流失", "失注"),
    },
    "complaint_kind": {
        "complaint": ("grievance", "投诉", "苦情"),
        "compliment": ("praise", "表扬", "お褒め"),
        "request": ("suggestion", "建议", "要望"),
    },
    "complaint_action": {
        "opened": ("received", "受理", "受付"),
        "resolved": ("closed", "办结", "解決"),
        "escalated_to_regulator": ("referred to regulator", "上报监管", "金融庁"),
    },
    "product_line": {
        "auto": ("motor", "车险", "自動車保険"),
        "fire": ("household", "家财险", "火災保険"),
        "personal_accident": ("PA", "意外险", "傷害保険"),
        "travel": ("travel", "旅游险", "海外旅行保険"),
    },
    "complaint_category": {
        "claims_handling": ("claim handling", "理赔", "保険金支払い"),
        "staff_attitude": ("attitude", "服务态度", "接客態度"),
        "clear_explanation": ("clear explanation", "解释清楚", "わかりやすい説明"),
        "document_request": ("certificate request", "索取资料", "書類請求"),
    },
}
LANGUAGES: Final = ("en", "zh", "ja")
# Codes no alias stands for: validation must reject them (schema_violation).
UNKNOWN_CODES: Final[dict[str, tuple[str, ...]]] = {
    "channel": ("不明", "未知渠道", "fax", "ファックス", "传真"),
    "policy_action": ("保留", "审核中", "suspended", "一時停止"),
    "renewal_action": ("検討中", "待定", "pending"),
    "complaint_kind": ("その他の声", "意见反馈", "feedback"),
    "complaint_action": ("対応中", "处理中", "in progress"),
    "product_line": ("不明", "未知险种", "Auto Insurance!"),
    "complaint_category": ("不明", "其他问题", "Claims?"),
}
PHONES: Final = (
    "090-1234-5678",
    "+81 90 1234 5678",
    "+81-90-1234-5678",
    "03-3210-7654",
    "+86 138 0013 8000",
    "080 9876 5432",
)
SOURCES: Final = {
    "policy": "policy-admin",
    "renewal": "renewal-desk",
    "complaint": "complaint-desk",
    "survey": "survey-tool",
    "assessment": "hr-assessment",
    "training": "training-portal",
}
EVENT_TYPES: Final = tuple(SOURCES)
_IDENTIFIER: Final = re.compile(IDENTIFIER_PATTERN)
_OFFSETS: Final = (timedelta(hours=9), timedelta(hours=8), timedelta(0), timedelta(hours=-5))


def _full_width(text: str) -> str:
    """ASCII as its full-width form (what a Japanese IME types); NFKC undoes it."""
    return "".join(
        "\u3000" if char == " " else chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char
        for char in text
    )


def _styled(word: str, rng: random.Random) -> str:
    style = rng.randrange(5)
    if style == 1:
        return word.upper()
    if style == 2:
        return _full_width(word)
    if style == 3:
        return f"  {word} "
    return word


def word(code_list: str, canonical: str, language: str, rng: random.Random) -> str:
    """An alias of `canonical` in `language` (en, zh, ja), sometimes upper-case or full-width."""
    if language not in LANGUAGES:
        return canonical
    return _styled(WORDS[code_list][canonical][LANGUAGES.index(language)], rng)


def timestamp(moment: datetime, offset: timedelta) -> str:
    """ISO 8601 at the given offset; UTC written 'Z'."""
    text = moment.astimezone(timezone(offset)).isoformat()
    return text.replace("+00:00", "Z")


def _pick(rng: random.Random, code_list: str) -> str:
    return rng.choice(sorted(WORDS[code_list]))


def valid_document(
    event_type: str,
    number: int,
    agent_id: str,
    occurred_at: str,
    language: str,
    rng: random.Random,
    *,
    id_prefix: str = "",
) -> Document:
    """A valid raw document of `event_type`, codes written as aliases in `language`."""
    document: Document = {
        "event_id": f"{id_prefix}{event_type[:3]}-{number:06d}",
        "event_type": event_type,
        "occurred_at": occurred_at,
        "source": SOURCES[event_type],
        "schema_version": 1,
        "agent_id": agent_id,
    }
    match event_type:
        case "policy":
            action = _pick(rng, "policy_action")
            document |= {
                "policy_id": f"P{number:07d}",
                "customer_id": f"C{rng.randrange(10**6):06d}",
                "action": word("policy_action", action, language, rng),
                "product_line": word("product_line", _pick(rng, "product_line"), language, rng),
                "premium": rng.choice(("78000", 42000, "12345678901234.5678", "4500.50")),
                "currency": "JPY",
                "channel": word("channel", _pick(rng, "channel"), language, rng),
                "new_business": action == "issued",
                "referral": rng.random() < 0.1,
            }
            if action != "issued":
                document["issued_at"] = rng.choice(("2023-04-01", "2022-10-15T10:00:00+09:00"))
        case "renewal":
            document |= {
                "renewal_id": f"R{number:07d}",
                "policy_id": f"P{rng.randrange(10**7):07d}",
                "action": word("renewal_action", _pick(rng, "renewal_action"), language, rng),
                "due_date": "2024-05-31",
                "premium": rng.choice(("82000", 65000)),
                "currency": "JPY",
                "channel": word("channel", _pick(rng, "channel"), language, rng),
            }
        case "complaint":
            document |= {
                "case_id": f"K{number:07d}",
                "kind": word("complaint_kind", _pick(rng, "complaint_kind"), language, rng),
                "action": word("complaint_action", _pick(rng, "complaint_action"), language, rng),
                "category": word(
                    "complaint_category", _pick(rng, "complaint_category"), language, rng
                ),
                "policy_id": f"P{rng.randrange(10**7):07d}",
            }
        case "survey":
            document |= {
                "response_id": f"S{number:07d}",
                "policy_id": f"P{rng.randrange(10**7):07d}",
                "customer_id": f"C{rng.randrange(10**6):06d}",
                "scale": 10,
                "score": rng.choice((9, "8.5", 10, 6)),
                "channel": word("channel", _pick(rng, "channel"), language, rng),
            }
            if rng.random() < 0.6:
                document["callback_phone"] = rng.choice(PHONES)
            if rng.random() < 0.3:
                document["agent_phone"] = rng.choice(PHONES)
        case "assessment":
            document |= {
                "assessment_id": f"AS{number:06d}",
                "period": "FY2024-Q1",
                "score": rng.choice(("85.5", 70, "100")),
                "assessor_id": "M001",
            }
        case "training":
            document |= {
                "session_id": f"TR{number:06d}",
                "course": rng.choice(("compliance", "product_auto", "claims_basics")),
                "hours": rng.choice(("1.5", 2, "0.25")),
            }
    return document


def encode(document: object, rng: random.Random | None = None) -> bytes:
    """UTF-8 JSON; with `rng`, sometimes with non-ASCII escaped (as some publishers do)."""
    ascii_only = rng is not None and rng.random() < 0.25
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8")


def good_messages(
    n: int,
    agent_ids: Collection[str],
    start: datetime = DEFAULT_START,
    *,
    seed: int = SEED,
    id_prefix: str = "",
) -> Iterator[bytes]:
    """`n` valid messages of every event type for `agent_ids`, from `start` on, one a minute.

    Codes are aliases in English, Chinese and Japanese in turn; every event_id is unique;
    surveys often carry a raw `callback_phone` and sometimes an `agent_phone`.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    agents = sorted(agent_ids)
    if not agents:
        raise ValueError("agent_ids must not be empty")
    rng = random.Random(seed)
    for number in range(n):
        event_type = EVENT_TYPES[number % len(EVENT_TYPES)]
        occurred = timestamp(start + timedelta(minutes=number), _OFFSETS[number % len(_OFFSETS)])
        language = LANGUAGES[(number // len(EVENT_TYPES)) % len(LANGUAGES)]
        document = valid_document(
            event_type,
            number,
            agents[number % len(agents)],
            occurred,
            language,
            rng,
            id_prefix=id_prefix,
        )
        yield encode(document, rng)


# -- bad messages ---------------------------------------------------------------------------

Mutation = Callable[[Document], object]
# Bad messages never share an event_id with good ones: ingest's de-duplication must not be
# what rejects them when both corpora go through one stream.
_BAD_PREFIX: Final = "bad-"


def _set(**fields: object) -> Mutation:
    return lambda document: document.update(fields)


def _drop(*names: str) -> Mutation:
    def mutate(document: Document) -> None:
        for name in names:
            document.pop(name, None)

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(document: Document) -> None:
        for mutation in mutations:
            mutation(document)

    return mutate


def _malformed(base: bytes) -> list[bytes]:
    text = base.decode("utf-8")
    return [
        b"   ",
        base[: len(base) // 2],  # cut off mid-message
        base[:-1],  # closing brace lost
        text.replace('"', "'").encode("utf-8"),  # Python repr, not JSON
        base[:-1] + b",}",  # trailing comma
        b"\xef\xbb\xbf" + base,  # UTF-8 byte order mark
        text.encode("utf-16"),
        '{"event_type": "policy", "channel": "対面"}'.encode("shift_jis"),
        '{"event_type": "policy", "channel": "面对面"}'.encode("gb18030"),
        base + base,  # two objects in one record
        b"[" * 30_000,  # nested past the parser's stack
        b'{"event_type": "policy", "premium": NaN}',
        b'{"event_type": "policy", "premium": Infinity}',
        b'{"event_type": "survey", "score": -Infinity}',
        b"null",
        b"[]",
        b'["policy"]',
        b'"policy"',
        b"42",
        b"true",
        b'{"event_type": "policy" "action": "issued"}',
        b'{event_type: "policy"}',
        b'{"event_type": "policy", "channel": "\xe5\xaf"}',  # 対 cut after two of its three bytes
        b"\x00\x01\x02",
        "{“event_type”: “policy”}".encode(),  # typographic quotes
    ]


def _unknown_event_types() -> list[object]:
    return [
        "claim",
        "Policy",
        "POLICY",
        " policy",
        "policies",
        "insurance.policy.v1",
        "policy.v2",
        "保険契約",
        "保单",
        "苦情",
        "投诉",
        "",
        42,
        True,
        ["policy"],
        {"type": "policy"},
    ]


def _schema_violations(rng: random.Random) -> list[tuple[str, Mutation]]:
    cases: list[tuple[str, Mutation]] = []
    for code_list, fields in (
        ("channel", (("policy", "channel"), ("renewal", "channel"), ("survey", "channel"))),
        ("policy_action", (("policy", "action"),)),
        ("renewal_action", (("renewal", "action"),)),
        ("complaint_kind", (("complaint", "kind"),)),
        ("complaint_action", (("complaint", "action"),)),
        ("product_line", (("policy", "product_line"),)),
        ("complaint_category", (("complaint", "category"),)),
    ):
        for index, unknown in enumerate(UNKNOWN_CODES[code_list]):
            event_type, field = fields[index % len(fields)]
            cases.append((event_type, _set(**{field: unknown})))
    return [
        *cases,
        ("policy", _drop("premium")),
        ("policy", _drop("currency")),
        ("policy", _set(currency="円")),
        ("policy", _set(currency="jpy")),
        ("policy", _set(premium="¥78,000")),
        ("policy", _set(premium="七万八千")),
        ("policy", _set(premium=True)),
        ("policy", _set(premium="0.00001")),
        ("policy", _set(new_business="true")),
        ("policy", _set(referral="はい")),
        ("policy", _set(action="lapsed", issued_at=None)),
        ("policy", _both(_set(action="解約"), _drop("issued_at"))),
        ("policy", _set(issued_at="令和5年4月1日")),
        ("policy", _set(policy_id="P 0001")),
        ("policy", _set(customer_id="顧客001")),
        ("renewal", _drop("due_date")),
        ("renewal", _set(due_date="2024/05/31")),
        ("renewal", _set(due_date=20240531)),
        ("complaint", _drop("case_id")),
        ("complaint", _set(policy_id="")),
        ("survey", _set(scale=7)),
        ("survey", _set(scale="10")),
        ("survey", _set(score="nine")),
        ("survey", _set(callback_phone="call me")),
        ("survey", _set(agent_phone="０９０－１２３４－５６７８")),
        ("assessment", _set(period="2024-13")),
        ("assessment", _set(period="FY2024-Q5")),
        ("training", _set(course="Compliance Training")),
        ("training", _drop("session_id")),
        ("policy", _set(event_id="")),
        ("policy", _set(event_id="evt 0001")),
        ("renewal", _set(source="Renewal Desk")),
        ("complaint", _set(schema_version=2)),
        ("complaint", _set(schema_version="1")),
        ("survey", _drop("schema_version")),
        ("policy", _set(event_type=None)),
        ("policy", _drop("event_type")),
        ("training", _set(branch_id="B01")),  # both owners
        ("assessment", _drop("agent_id")),  # no owner
        ("policy", _set(agent_id=None)),
        ("renewal", _set(comment="お客様より電話あり")),  # v1 has no such field
        ("survey", _set(occurred_at=1711931400)),  # epoch seconds
        ("complaint", _set(occurred_at="昨日")),
        ("policy", _set(occurred_at="2024-02-30T09:00:00+09:00")),
        ("training", _set(occurred_at="2024-04-01T09:30:00 JST")),
        ("survey", _set(channel="不明", score=11)),  # a bad code and a bad score: schema wins
        ("policy", _set(premium="1000000000000000")),  # 16 digits before the point; 14 allowed
        ("policy", _set(channel=rng.choice(("対面", "面对面")), currency="yen")),
    ]


def _naive_timestamps() -> list[tuple[str, Mutation]]:
    naive = (
        "2024-04-01T09:30:00",
        "2024-04-01 09:30:00",
        "2024-04-01T09:30",
        "2024-04-01T09:30:00.123456",
        "2024-04-01",
    )
    cases = [(event_type, _set(occurred_at=text)) for event_type in EVENT_TYPES for text in naive]
    return [
        *cases,
        ("policy", _set(action="lapsed", issued_at="2023-04-01T00:00:00")),
        ("policy", _set(action="失効", issued_at="2023-04-01 10:00")),
        ("renewal", _set(due_date="2024-05-31T00:00:00")),
        ("renewal", _set(due_date="2024-05-31 23:59:59")),
        ("survey", _set(occurred_at="2024-04-01T09:30:00", score=11)),  # naive wins over range
        ("policy", _set(occurred_at="2024-04-01", premium="-1")),
    ]


def _out_of_range() -> list[tuple[str, Mutation]]:
    return [
        ("policy", _set(premium="-1")),
        ("policy", _set(premium=-78000)),
        ("policy", _set(premium="-0.01")),
        ("renewal", _set(premium="-82000")),
        ("survey", _set(scale=10, score=11)),
        ("survey", _set(scale=10, score=-1)),
        ("survey", _set(scale=10, score="10.01")),
        ("survey", _set(scale=5, score=0)),
        ("survey", _set(scale=5, score="5.5")),
        ("survey", _set(scale=100, score=101)),
        ("survey", _set(scale=100, score="-0.5")),
        ("assessment", _set(score="100.5")),
        ("assessment", _set(score=-3)),
        ("assessment", _set(score=120)),
        ("training", _set(hours=0)),
        ("training", _set(hours="-1")),
        ("training", _set(hours=25)),
        ("training", _set(hours="24.01")),
        ("survey", _set(scale=5, score=0, channel="電話")),
        ("policy", _set(premium="-5000", channel="银保", action="承保")),
    ]


def _valid_with(
    rng: random.Random,
    number: int,
    agent_id: str,
    occurred_at: datetime,
    offset: timedelta,
) -> Document:
    event_type = EVENT_TYPES[number % len(EVENT_TYPES)]
    language = LANGUAGES[number % len(LANGUAGES)]
    return valid_document(
        event_type,
        number,
        agent_id,
        timestamp(occurred_at, offset),
        language,
        rng,
        id_prefix=_BAD_PREFIX,
    )


def _unknown_agents(agent_ids: Collection[str], count: int) -> list[str]:
    """Ids the org chart does not know: typos of known ones (case, a stray digit), then others."""
    known = sorted(set(agent_ids))
    typos = [agent.lower() for agent in known] + [f"{agent}0" for agent in known]
    unknown = [
        agent for agent in dict.fromkeys(typos) if agent not in known and _IDENTIFIER.match(agent)
    ][: count // 2]
    others = (f"X{number:05d}" for number in itertools.count())
    unknown += itertools.islice((agent for agent in others if agent not in known), count)
    return unknown[:count]


def bad_messages(
    agent_ids: Collection[str],
    too_late_at: datetime,
    *,
    start: datetime = DEFAULT_START,
    seed: int = SEED,
) -> list[BadMessage]:
    """Every kind of bad upstream message with the reason ingest must give it (≥ 200, ≥ 10 each
    but for the one empty value).

    `agent_ids` are the agents the org chart knows; `too_late_at` is an instant ingest must
    refuse as too late (the too_late messages occur at or before it); `start` is when the
    other messages occur.
    """
    if start.tzinfo is None or too_late_at.tzinfo is None:
        raise ValueError("start and too_late_at must be aware datetimes")
    agents = sorted(agent_ids)
    if not agents:
        raise ValueError("agent_ids must not be empty")
    rng = random.Random(seed)
    corpus: list[BadMessage] = []
    number = 0

    def document(event_type: str) -> Document:
        nonlocal number
        number += 1
        occurred = timestamp(start + timedelta(minutes=number), _OFFSETS[number % len(_OFFSETS)])
        language = LANGUAGES[number % len(LANGUAGES)]
        return valid_document(
            event_type,
            number,
            agents[number % len(agents)],
            occurred,
            language,
            rng,
            id_prefix=_BAD_PREFIX,
        )

    for raw in _malformed(encode(document("policy"))):
        corpus.append(BadMessage(raw, RejectReason.MALFORMED_JSON))
    corpus.append(BadMessage(b"", RejectReason.EMPTY_VALUE))
    for event_type in _unknown_event_types():
        bad = document(EVENT_TYPES[number % len(EVENT_TYPES)]) | {"event_type": event_type}
        corpus.append(BadMessage(encode(bad, rng), RejectReason.UNKNOWN_EVENT_TYPE))
    for reason, cases in (
        (RejectReason.SCHEMA_VIOLATION, _schema_violations(rng)),
        (RejectReason.NAIVE_TIMESTAMP, _naive_timestamps()),
        (RejectReason.OUT_OF_RANGE, _out_of_range()),
    ):
        for event_type, mutation in cases:
            bad = document(event_type)
            mutation(bad)
            corpus.append(BadMessage(encode(bad, rng), reason))

    corpus.extend(_too_large(document))
    for index, agent in enumerate(_unknown_agents(agents, 24)):
        occurred = start + timedelta(minutes=index)
        bad = _valid_with(rng, 10_000 + index, agent, occurred, _OFFSETS[index % 4])
        corpus.append(BadMessage(encode(bad, rng), RejectReason.UNKNOWN_ENTITY))
    for index in range(24):
        # At the limit, then further back: hours, days, more than a year.
        occurred = too_late_at - timedelta(hours=index**3)
        agent = agents[index % len(agents)]
        late = _valid_with(rng, 20_000 + index, agent, occurred, _OFFSETS[index % 4])
        corpus.append(BadMessage(encode(late, rng), RejectReason.TOO_LATE))
    return corpus


def _too_large(document: Callable[[str], Document]) -> list[BadMessage]:
    limit = MAX_MESSAGE_BYTES
    cases: list[bytes] = []
    # Valid events made large by whitespace: size alone must reject them.
    for event_type in EVENT_TYPES:
        body = encode(document(event_type))
        cases.append(body[:-1] + b" " * (limit - len(body) + 1) + b"}")
    cases += [
        encode(document("complaint") | {"category": "苦情" * 11_000}),
        encode(document("policy") | {"memo": "x" * limit}),
        encode(document("survey") | {"answers": list(range(20_000))}),
        encode(document("renewal") | {"action": "更新", "notes": ["満期のご案内"] * 5_000}),
        b"{" * (limit + 1),  # too large before it is malformed
        b"\xff" * (limit + 10),
        encode([document("training") for _ in range(300)]),
    ]
    return [BadMessage(raw, RejectReason.TOO_LARGE) for raw in cases]

"""Survey channels in English, Chinese and Japanese (config/codes.yaml `survey_channel`), and
ingest's triage of surveys by them: an SMS survey is a survey, not a schema violation."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest

from services.ingest.normalise import CodeBook, load_codebook
from services.ingest.triage import Accepted, Outcome, Record, Rejected, Triage
from shared import topics
from shared.events import RejectReason, SurveyChannel, SurveyEvent
from tests.support.unit_triage import CONFIG, make_triage
from tests.support.upstream_samples import POLICY, SURVEY, SURVEY_CHANNEL_OF_SALES_VALUE

RECEIVED: Final = datetime(2024, 10, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> CodeBook:
    return load_codebook(CONFIG / "codes.yaml")


@pytest.fixture
def triage(book: CodeBook) -> Triage:
    return make_triage(codebook=book)


def triaged(triage: Triage, document: dict[str, Any], topic: str) -> Outcome:
    value = json.dumps(document, ensure_ascii=False).encode()
    return triage(Record(topic, 0, 1, value), RECEIVED)


def accepted_survey(triage: Triage, channel: str) -> SurveyEvent:
    outcome = triaged(triage, {**SURVEY, "channel": channel}, topics.SURVEY)
    assert isinstance(outcome, Accepted), outcome
    assert isinstance(outcome.event.event, SurveyEvent)
    return outcome.event.event


# -- the code list -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (["SMS", "text message", "短信", "短消息", "ショートメッセージ", "ショートメール"], "sms"),
        (["e-mail", "E-Mail", "email", "邮件", "电子邮件", "メール", "Eメール"], "email"),
        (["web", "online", "网页", "网上", "ウェブ", "オンライン"], "web"),
        (["app", "App", "mobile app", "应用", "手机应用", "アプリ"], "app"),
        (["phone", "telephone", "电话", "電話"], "phone"),
        (["face to face", "in person", "面对面", "対面"], "face_to_face"),
        (["mail", "postal", "邮寄", "郵送"], "mail"),
        (["paper", "paper form", "纸质", "紙"], "paper"),
        (["other", "others", "其他", "その他"], "other"),
    ],
)
def test_survey_channel_spellings_in_english_chinese_and_japanese(
    book: CodeBook, spellings: list[str], canonical: str
) -> None:
    for spelling in spellings:
        assert book.canonical("survey_channel", spelling) == canonical, spelling


def test_full_width_and_half_width_spellings_match(book: CodeBook) -> None:
    assert book.canonical("survey_channel", "ＳＭＳ") == "sms"
    assert book.canonical("survey_channel", "ｼｮｰﾄﾒｯｾｰｼﾞ") == "sms"
    assert book.canonical("survey_channel", "Ｅ－ｍａｉｌ") == "email"


def test_every_spelling_surveys_had_from_the_sales_list_still_reads(book: CodeBook) -> None:
    # Until surveys had their own list they used the sales one; none of its words may now
    # dead-letter a survey. Each reads as its sales value's successor, except 'app', which
    # now has a value of its own.
    sales = book.lists["channel"]
    moved = {
        key: (SURVEY_CHANNEL_OF_SALES_VALUE[value].value, book.lists["survey_channel"].get(key))
        for key, value in sales.items()
    }
    assert {key for key, (_, now) in moved.items() if now is None} == set()
    differs = {key: now for key, (successor, now) in moved.items() if now != successor}
    assert differs == {"app": "app"}


def test_the_sales_list_does_not_learn_survey_words(book: CodeBook) -> None:
    for word in ["sms", "短信", "ショートメッセージ", "メール", "邮件", "paper", "紙"]:
        assert book.canonical("channel", word) is None, word


def test_a_survey_is_normalised_by_the_survey_list_and_a_policy_by_the_sales_list(
    book: CodeBook,
) -> None:
    assert book.normalise({"event_type": "survey", "channel": "短信"})["channel"] == "sms"
    assert book.normalise({"event_type": "survey", "channel": "メール"})["channel"] == "email"
    assert book.normalise({"event_type": "survey", "channel": "网上"})["channel"] == "web"
    assert book.normalise({"event_type": "survey", "channel": "銀行"})["channel"] == "other"
    assert book.normalise({"event_type": "policy", "channel": "短信"})["channel"] == "短信"
    assert book.normalise({"event_type": "policy", "channel": "网上"})["channel"] == "online"
    assert book.normalise({"event_type": "renewal", "channel": "銀行"})["channel"] == "bank"


def test_a_spelling_added_to_the_survey_list_is_read_after_a_reload(tmp_path: Path) -> None:
    # What docs/ingest.md tells an operator to do for a word a survey tool sends.
    path = tmp_path / "codes.yaml"
    path.write_text("survey_channel:\n  sms: [SMS]\n", encoding="utf-8")
    before = load_codebook(path)
    path.write_text("survey_channel:\n  sms: [SMS, 文字メッセージ]\n", encoding="utf-8")
    after = load_codebook(path)

    assert before.canonical("survey_channel", "文字メッセージ") is None
    assert after.canonical("survey_channel", "文字メッセージ") == "sms"
    assert after.canonical("channel", "文字メッセージ") is None


# -- triage --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "channel"),
    [
        ("sms", SurveyChannel.SMS),
        ("SMS", SurveyChannel.SMS),
        ("短信", SurveyChannel.SMS),
        ("ショートメッセージ", SurveyChannel.SMS),
        ("email", SurveyChannel.EMAIL),
        ("邮件", SurveyChannel.EMAIL),
        ("メール", SurveyChannel.EMAIL),
        ("web", SurveyChannel.WEB),
        ("网页", SurveyChannel.WEB),
        ("ウェブ", SurveyChannel.WEB),
        ("app", SurveyChannel.APP),
        ("アプリ", SurveyChannel.APP),
        ("paper", SurveyChannel.PAPER),
        ("纸质", SurveyChannel.PAPER),
    ],
)
def test_a_survey_by_a_survey_channel_is_accepted(
    triage: Triage, written: str, channel: SurveyChannel
) -> None:
    assert accepted_survey(triage, written).channel is channel


@pytest.mark.parametrize(
    ("written", "channel"),
    [
        *SURVEY_CHANNEL_OF_SALES_VALUE.items(),
        ("インターネット", SurveyChannel.WEB),
        ("银保", SurveyChannel.OTHER),
        ("対面", SurveyChannel.FACE_TO_FACE),
    ],
)
def test_a_survey_by_a_value_it_took_before_is_still_accepted(
    triage: Triage, written: str, channel: SurveyChannel
) -> None:
    assert accepted_survey(triage, written).channel is channel


def test_an_unknown_survey_channel_is_a_schema_violation(triage: Triage) -> None:
    outcome = triaged(triage, {**SURVEY, "channel": "fax"}, topics.SURVEY)

    assert isinstance(outcome, Rejected)
    assert outcome.dead_letter.reason is RejectReason.SCHEMA_VIOLATION
    assert outcome.dead_letter.detail == (
        "channel: 'fax' is not one of 'sms', 'email', 'web', 'app', 'phone', 'face_to_face', "
        "'mail', 'paper' or 'other'"
    )


@pytest.mark.parametrize("written", ["sms", "短信", "ショートメッセージ", "email", "paper"])
def test_a_policy_by_a_survey_channel_is_still_rejected(triage: Triage, written: str) -> None:
    outcome = triaged(triage, {**POLICY, "channel": written}, topics.POLICY)

    assert isinstance(outcome, Rejected)
    assert outcome.dead_letter.reason is RejectReason.SCHEMA_VIOLATION
    assert outcome.dead_letter.detail.startswith(f"channel: {written!r} is not one of ")
    assert "'bank'" in outcome.dead_letter.detail

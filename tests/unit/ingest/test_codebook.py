"""The code book: en/zh/ja aliases to canonical codes, its matching rules and its load errors."""

from pathlib import Path
from typing import Any, Final

import pytest

from services.ingest.normalise import (
    CODE_LISTS,
    CODED_FIELDS,
    CodeBook,
    load_codebook,
    match_key,
)
from shared.errors import ConfigError
from shared.events import (
    Channel,
    ComplaintAction,
    ComplaintKind,
    PolicyAction,
    RenewalAction,
    SurveyChannel,
)

CODES: Final = Path(__file__).resolve().parents[3] / "config" / "codes.yaml"


@pytest.fixture(scope="module")
def book() -> CodeBook:
    return load_codebook(CODES)


def load_text(tmp_path: Path, text: str) -> CodeBook:
    path = tmp_path / "codes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_codebook(path)


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text)
    return str(caught.value)


# -- the shipped file ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code_list", "spellings", "canonical"),
    [
        ("channel", ["face-to-face", "面对面", "対面", "面談"], "face_to_face"),
        ("channel", ["web", "线上", "网上", "インターネット", "ネット"], "online"),
        ("channel", ["telephone", "电话", "電話"], "phone"),
        ("channel", ["postal", "邮寄", "郵送"], "mail"),
        ("channel", ["bancassurance", "银保", "銀行窓販"], "bank"),
        ("channel", ["others", "其他", "その他"], "other"),
        ("survey_channel", ["text message", "短信", "ショートメッセージ"], "sms"),
        ("survey_channel", ["e-mail", "邮件", "メール"], "email"),
        ("survey_channel", ["online", "网页", "ウェブ"], "web"),
        ("policy_action", ["new business", "承保", "出单", "新規", "新契約"], "issued"),
        ("policy_action", ["renewal", "续保", "更新"], "renewed"),
        ("policy_action", ["lapse", "失效", "失効"], "lapsed"),
        ("policy_action", ["surrender", "退保", "解約"], "surrendered"),
        ("policy_action", ["reinstatement", "复效", "復活"], "reinstated"),
        ("policy_action", ["cancellation", "撤单", "取消", "解除"], "cancelled"),
        ("renewal_action", ["renewal due", "到期", "満期"], "due"),
        ("renewal_action", ["reached", "已联系", "連絡済"], "contacted"),
        ("renewal_action", ["renew", "续保", "更新"], "renewed"),
        ("renewal_action", ["not renewed", "流失", "脱落", "失注"], "lost"),
        ("complaint_kind", ["grievance", "投诉", "苦情"], "complaint"),
        ("complaint_kind", ["praise", "表扬", "称赞", "お褒め"], "compliment"),
        ("complaint_kind", ["suggestion", "建议", "请求", "要望", "ご要望"], "request"),
        ("complaint_action", ["received", "受理", "受付"], "opened"),
        ("complaint_action", ["closed", "已解决", "办结", "解決", "完了"], "resolved"),
        (
            "complaint_action",
            ["referred to regulator", "上报监管", "监管", "金融庁"],
            "escalated_to_regulator",
        ),
        ("product_line", ["motor", "车险", "自動車保険"], "auto"),
        ("complaint_category", ["claim handling", "理赔", "保険金支払い"], "claims_handling"),
    ],
)
def test_aliases_in_english_chinese_and_japanese(
    book: CodeBook, code_list: str, spellings: list[str], canonical: str
) -> None:
    for spelling in spellings:
        assert book.canonical(code_list, spelling) == canonical, spelling


@pytest.mark.parametrize(
    ("code_list", "enum"),
    [
        ("channel", Channel),
        ("survey_channel", SurveyChannel),
        ("policy_action", PolicyAction),
        ("renewal_action", RenewalAction),
        ("complaint_kind", ComplaintKind),
        ("complaint_action", ComplaintAction),
    ],
)
def test_every_enum_value_matches_itself_and_has_latin_and_cjk_aliases(
    book: CodeBook, code_list: str, enum: Any
) -> None:
    keys_by_value: dict[str, list[str]] = {}
    for key, value in book.lists[code_list].items():
        keys_by_value.setdefault(value, []).append(key)
    for member in enum:
        assert book.canonical(code_list, member.value) == member.value
        keys = keys_by_value[member.value]
        assert any(key.isascii() and key != member.value for key in keys), member
        assert any(not key.isascii() for key in keys), member


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("FACE-TO-FACE", "face_to_face"),
        ("Face To Face", "face_to_face"),
        ("face__to--face", "face_to_face"),
        ("  face to face\t", "face_to_face"),
        ("ＦＡＣＥ－ＴＯ－ＦＡＣＥ", "face_to_face"),  # full-width letters and hyphen
        ("ｆａｃｅ\u3000ｔｏ\u3000ｆａｃｅ", "face_to_face"),  # ideographic spaces
        ("face\u2013to\u2013face", "face_to_face"),  # en dash
        ("ＷＥＢ", "online"),
        ("ｲﾝﾀｰﾈｯﾄ", "online"),  # half-width katakana
        (" 対面 ", "face_to_face"),
        ("FACE_TO_FACE", "face_to_face"),
        ("Online", "online"),
    ],
)
def test_matching_ignores_case_width_spacing_and_separators(
    book: CodeBook, spelling: str, canonical: str
) -> None:
    assert book.canonical("channel", spelling) == canonical


def test_match_key_form() -> None:
    assert match_key(" Face-To_Face ") == "face_to_face"
    assert match_key("ＳＴＲＡßＥ") == "strasse"  # case folding, not just lower()
    assert match_key("インターネット") == "インターネット"  # ー is a letter, not a dash
    assert match_key("---") == ""


@pytest.mark.parametrize("unknown", ["不明", "未知", "fax", "face to face!", "", "ｆａｘ"])
def test_unknown_values_are_not_matched(book: CodeBook, unknown: str) -> None:
    assert book.canonical("channel", unknown) is None


def test_normalise_replaces_the_coded_fields_of_each_event_type(book: CodeBook) -> None:
    policy = {
        "event_type": "policy",
        "action": "新契約",
        "channel": "面对面",
        "product_line": "ＭＯＴＯＲ",
        "currency": "JPY",
    }
    assert book.normalise(policy) == {
        "event_type": "policy",
        "action": "issued",
        "channel": "face_to_face",
        "product_line": "auto",
        "currency": "JPY",
    }
    assert policy["action"] == "新契約"  # the input is not changed
    renewal = {"event_type": "renewal", "action": "更新", "channel": "電話"}
    assert book.normalise(renewal) == {
        "event_type": "renewal",
        "action": "renewed",
        "channel": "phone",
    }
    complaint = {"event_type": "complaint", "kind": "お褒め", "action": "办结", "category": "理赔"}
    assert book.normalise(complaint) == {
        "event_type": "complaint",
        "kind": "compliment",
        "action": "resolved",
        "category": "claims_handling",
    }
    survey = {"event_type": "survey", "channel": "インターネット", "callback_phone": "電話"}
    assert book.normalise(survey) == {
        "event_type": "survey",
        "channel": "web",  # from the survey's own list, not the sales channel's
        "callback_phone": "電話",  # not a coded field
    }


def test_normalise_leaves_unknown_values_and_other_fields_untouched(book: CodeBook) -> None:
    document = {
        "event_type": "policy",
        "action": "不明",
        "channel": 3,
        "product_line": None,
        "premium": "対面",
        "policy_id": "更新",
    }
    assert book.normalise(document) == document
    assert book.normalise(document) is not document


@pytest.mark.parametrize(
    "document",
    [
        {"event_type": "training", "course": "対面"},
        {"event_type": "claim", "channel": "対面"},
        {"event_type": "Policy", "channel": "対面"},
        {"event_type": ["policy"], "channel": "対面"},
        {"channel": "対面"},
    ],
)
def test_normalise_only_knows_the_coded_event_types(
    book: CodeBook, document: dict[str, Any]
) -> None:
    assert book.normalise(document) == document


@pytest.mark.parametrize("document", [None, [], ["policy"], "対面", 42])
def test_normalise_returns_anything_but_an_object_as_it_is(
    book: CodeBook, document: object
) -> None:
    assert book.normalise(document) is document


def test_code_lists_and_coded_fields_agree() -> None:
    used = {code_list for fields in CODED_FIELDS.values() for code_list in fields.values()}
    assert used == set(CODE_LISTS)


def test_an_empty_file_means_canonical_spellings_only(tmp_path: Path) -> None:
    book = load_text(tmp_path, "# nothing yet\n")
    assert book.canonical("channel", "Face-To-Face") == "face_to_face"
    assert book.canonical("channel", "対面") is None
    assert book.canonical("product_line", "auto") is None  # open lists list their values


def test_open_lists_take_any_code(tmp_path: Path) -> None:
    book = load_text(tmp_path, "product_line:\n  pet: [ペット保険, 宠物险]\n")
    assert book.canonical("product_line", "ペット保険") == "pet"
    assert book.canonical("product_line", "PET") == "pet"


# -- load errors ---------------------------------------------------------------------------


def test_an_alias_for_two_canonical_values_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    message = load_error(
        tmp_path, "channel:\n  face_to_face: [対面, 面談]\n  online: [web, ＷＥＢ, 面談]\n"
    )
    assert message == (
        f"{path}: channel.online[2]: alias '面談' would stand for both face_to_face "
        "(channel.face_to_face[1]) and online; keep it under one of them"
    )


def test_an_alias_spelt_differently_still_collides(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    message = load_error(tmp_path, "channel:\n  online: [Face To Face]\n")
    assert message == (
        f"{path}: channel.online[0]: alias 'Face To Face' (read as 'face_to_face') would stand "
        "for both face_to_face (the canonical value face_to_face) and online; keep it under "
        "one of them"
    )


def test_the_same_word_may_mean_different_things_in_different_lists(tmp_path: Path) -> None:
    book = load_text(
        tmp_path, "policy_action:\n  renewed: [更新]\nrenewal_action:\n  renewed: [更新]\n"
    )
    assert book.canonical("policy_action", "更新") == "renewed"
    assert book.canonical("renewal_action", "更新") == "renewed"


def test_a_canonical_value_outside_the_enum_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    message = load_error(tmp_path, "channel:\n  face2face: [対面]\n")
    assert message == (
        f"{path}: channel.face2face: 'face2face' is not a channel value; expected one of "
        "face_to_face, online, phone, mail, bank, other"
    )


def test_a_canonical_value_of_an_open_list_must_be_a_code(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    message = load_error(tmp_path, "product_line:\n  Auto Insurance: [自動車保険]\n")
    assert message == (
        f"{path}: product_line.Auto Insurance: 'Auto Insurance' is not a valid code; use "
        "lower-case letters, digits and '_', starting with a letter, e.g. personal_accident"
    )


def test_an_unknown_code_list_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    message = load_error(tmp_path, "chanel:\n  online: [web]\n")
    assert message == (
        f"{path}: chanel: unknown code list (did you mean 'channel'?); expected one of "
        "channel, survey_channel, policy_action, renewal_action, complaint_kind, "
        "complaint_action, product_line, complaint_category"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "channel:\n  online: [web, yes]\n",
            "channel.online[1]: expected text, got true (a boolean); quote the alias in YAML",
        ),
        (
            "complaint_action:\n  escalated_to_regulator: [12378]\n",
            "complaint_action.escalated_to_regulator[0]: expected text, got 12378 (a number); "
            "quote the alias in YAML",
        ),
        (
            "channel:\n  online: web\n",
            "channel.online: expected a list of aliases, e.g. [対面, 面对面], got 'web'",
        ),
        (
            "channel:\n  online:\n",
            "channel.online: expected a list of aliases, e.g. [対面, 面对面], got nothing (null)",
        ),
        (
            "channel: [web]\n",
            "channel: expected a mapping of canonical value to a list of aliases, "
            "e.g. face_to_face: [対面, 面对面], got a list",
        ),
        (
            "channel:\n  online: [' - ']\n",
            "channel.online[0]: alias ' - ' is empty once spaces, '-' and '_' go",
        ),
    ],
)
def test_entry_errors_name_the_file_the_field_and_the_entry(
    tmp_path: Path, text: str, problem: str
) -> None:
    assert load_error(tmp_path, text) == f"{tmp_path / 'codes.yaml'}: {problem}"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, "channel:\n  face2face: [x]\n  online: [対面, 対面]\n  phone: [対面]\nfoo: {}\n"
    )
    lines = message.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("foo: unknown code list; expected one of " + ", ".join(CODE_LISTS))
    assert "channel.face2face:" in lines[1]
    assert "channel.phone[0]: alias '対面' would stand for both online" in lines[2]


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "- channel\n")
    assert message == (
        f"{tmp_path / 'codes.yaml'}: expected a mapping of code lists (channel, survey_channel, "
        "policy_action, renewal_action, complaint_kind, complaint_action, product_line, "
        "complaint_category), got a list"
    )


def test_a_missing_file_and_bad_yaml_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=rf"^{missing}: file not found"):
        load_codebook(missing)
    message = load_error(tmp_path, "channel:\n  online: [web\n")
    assert message.startswith(f"{tmp_path / 'codes.yaml'}: line ")
    assert "invalid YAML" in message


def test_the_code_book_is_immutable(book: CodeBook) -> None:
    with pytest.raises(AttributeError):
        book.lists = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        book.lists["channel"]["fax"] = "other"  # type: ignore[index]

"""Phone numbers: one normal form per number, a keyed hash, and a key the service cannot lack."""

import hashlib
import hmac
import pickle
import re
from typing import Final

import pytest
from pydantic import SecretStr

from services.ingest.phones import DEVELOPMENT_KEY, PhoneHasher, hasher_from_settings
from shared.errors import ConfigError

KEY: Final = b"k" * 32
HASH: Final = re.compile(r"^hmac-sha256:[0-9a-f]{64}$")


@pytest.fixture
def hasher() -> PhoneHasher:
    return PhoneHasher(KEY)


@pytest.mark.parametrize(
    "spelling",
    [
        "090-1234-5678",
        "09012345678",
        "090 1234 5678",
        "(090) 1234-5678",
        "090.1234.5678",
        "+81 90 1234 5678",
        "+81-90-1234-5678",
        "+819012345678",
        "+81 (0)90 1234 5678",
        "0081 90 1234 5678",
        "０９０－１２３４－５６７８",  # full-width, as typed with a Japanese IME
        " 090-1234-5678 ",
    ],
)
def test_every_spelling_of_a_number_hashes_the_same(hasher: PhoneHasher, spelling: str) -> None:
    assert hasher.normalise(spelling) == "+819012345678"
    assert hasher.hash(spelling) == hasher.hash("090-1234-5678")


def test_the_hash_is_hmac_sha256_of_the_normal_form(hasher: PhoneHasher) -> None:
    expected = hmac.new(KEY, b"+819012345678", hashlib.sha256).hexdigest()
    assert hasher.hash("090-1234-5678") == f"hmac-sha256:{expected}"
    assert HASH.match(hasher.hash("03-3210-7654"))


def test_different_numbers_and_countries_differ(hasher: PhoneHasher) -> None:
    numbers = [
        "090-1234-5678",
        "090-1234-5679",
        "080-1234-5678",
        "03-1234-5678",
        "+86 90 1234 5678",
        "+1 90 1234 5678",
        "0901234567",
    ]
    assert len({hasher.hash(number) for number in numbers}) == len(numbers)


def test_the_default_country_code_applies_to_national_numbers_only() -> None:
    china = PhoneHasher(KEY, default_country_code="86")
    assert china.normalise("138 0013 8000") == "+8613800138000"
    assert china.normalise("+86 138 0013 8000") == "+8613800138000"
    assert china.normalise("010-1234-5678") == "+861012345678"
    assert china.normalise("+81 90 1234 5678") == "+819012345678"
    assert china.hash("+81 90 1234 5678") == PhoneHasher(KEY).hash("090-1234-5678")


def test_the_key_changes_every_hash() -> None:
    assert PhoneHasher(KEY).hash("090-1234-5678") != PhoneHasher(b"j" * 32).hash("090-1234-5678")


@pytest.mark.parametrize("raw", ["call me", "090-1234-567x", "+", "", "1234", "+0 90 1234 5678"])
def test_what_is_not_a_number_is_refused_without_repeating_it(
    hasher: PhoneHasher, raw: str
) -> None:
    with pytest.raises(ValueError, match=r"^not a phone number") as caught:
        hasher.hash(raw)
    if len(raw) > 1:
        assert raw not in str(caught.value)


def test_repr_and_pickle_do_not_reveal_the_key() -> None:
    hasher = PhoneHasher(b"super-secret-phone-key-0123456789")
    text = repr(hasher)
    assert text == "PhoneHasher(key hidden, default_country_code='81')"
    assert "super-secret" not in str(hasher)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(hasher)
    with pytest.raises(AttributeError):
        hasher.__dict__  # noqa: B018 - slots: no instance dictionary to dump


def test_constructor_rules() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        PhoneHasher(b"")
    with pytest.raises(ValueError, match="default_country_code must be 1–3 digits"):
        PhoneHasher(KEY, default_country_code="+81")


# -- the service's hasher ------------------------------------------------------------------

MISSING_KEY: Final = (
    "KPI_PHONE_HASH_KEY is not set: ingest needs a secret key to hash phone numbers outside "
    "the local stack; set it to at least 32 random bytes, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_hex(32))'`, from your secret store"
)


@pytest.mark.parametrize("key", [None, SecretStr(""), SecretStr("   ")])
def test_outside_the_local_stack_the_key_is_required(key: SecretStr | None) -> None:
    with pytest.raises(ConfigError) as caught:
        hasher_from_settings(key, local_stack=False)
    assert str(caught.value) == MISSING_KEY


def test_outside_the_local_stack_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        hasher_from_settings(SecretStr("password"), local_stack=False)
    assert str(caught.value) == (
        "KPI_PHONE_HASH_KEY is too short (8 bytes): use at least 32 random bytes, e.g. the "
        "output of `python -c 'import secrets; print(secrets.token_hex(32))'`"
    )
    assert "password" not in str(caught.value)


def test_the_configured_key_is_used() -> None:
    secret = "0123456789abcdef" * 4  # credential-scan: allow (a test key)
    hasher = hasher_from_settings(SecretStr(secret), local_stack=False)
    assert not hasher.development
    assert hasher.hash("090-1234-5678") == PhoneHasher(secret.encode()).hash("090-1234-5678")
    # On the local stack a configured key wins over the development key, however short.
    local = hasher_from_settings(SecretStr("short"), local_stack=True)
    assert local.hash("090-1234-5678") == PhoneHasher(b"short").hash("090-1234-5678")


def test_the_local_stack_falls_back_to_the_labelled_development_key() -> None:
    hasher = hasher_from_settings(None, local_stack=True)
    assert hasher.development
    assert repr(hasher) == "PhoneHasher(development key, default_country_code='81')"
    assert b"NOT-A-SECRET" in DEVELOPMENT_KEY
    assert hasher.hash("090-1234-5678") == PhoneHasher(DEVELOPMENT_KEY).hash("+81 90 1234 5678")

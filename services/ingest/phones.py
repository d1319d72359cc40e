"""Phone numbers become keyed hashes at the edge: never stored, published or logged raw.

A number is first written in one canonical form, '+' and its digits with the country code
(E.164 style), so that every way of writing the same number gives the same hash:

- a leading '+' keeps the country code: '+81 90-1234-5678' → '+819012345678';
- a leading '00' is the international call prefix: '0081 90 1234 5678' → '+819012345678'
  (Japan's own '010' prefix is not recognised: it reads as a national number);
- anything else is a national number: one leading trunk '0' is dropped and the default
  country code put in its place: '090-1234-5678' → '+819012345678'.

Spaces, '-', '.', '/' and parentheses are ignored, and so is a '(0)' after the country code
('+81 (0)90 …'); full-width digits count (Unicode NFKC).
The hash is HMAC-SHA256 under KPI_PHONE_HASH_KEY, written 'hmac-sha256:' + 64 hex digits; the
prefix says how it was made, so a later scheme can live beside it on the same topic.

A value that is already such a hash is kept as it is, not hashed again: a dead letter stores
its phones hashed, and when it is re-driven (`kpi deadletters redrive`) the fraud rules must see
the same hash the original number gives.
"""

import hashlib
import hmac
import re
import unicodedata
from typing import Final

from pydantic import SecretStr

from shared.errors import ConfigError
from shared.events import PHONE_HASH_PREFIX
from shared.events.canonical import PHONE_HASH_PATTERN

PHONE_KEY_VARIABLE: Final = "KPI_PHONE_HASH_KEY"
MIN_KEY_BYTES: Final = 32
# Public on purpose: it only ever protects the local stack's fake demo numbers.
DEVELOPMENT_KEY: Final = b"kpi-local-stack-development-phone-hash-key--NOT-A-SECRET"

_SEPARATORS: Final = re.compile(r"[\s\-.()/]")
_TRUNK_ZERO: Final = re.compile(r"\(\s*0\s*\)")
_COUNTRY_CODE: Final = re.compile(r"^[1-9][0-9]{0,2}$")
_MIN_DIGITS: Final = 7  # with the country code; the shortest real numbers have about 7
_MAX_DIGITS: Final = 20
_HASHED: Final = re.compile(PHONE_HASH_PATTERN)


class PhoneHasher:
    """Keyed HMAC-SHA256 of normalised phone numbers; the key never appears in its repr."""

    __slots__ = ("_country_code", "_development", "_key")

    def __init__(
        self, key: bytes, default_country_code: str = "81", *, development: bool = False
    ) -> None:
        if not key:
            raise ValueError("the phone hash key must not be empty")
        if not _COUNTRY_CODE.match(default_country_code):
            raise ValueError(
                f"default_country_code must be 1–3 digits without '+' or a leading 0, "
                f"e.g. '81'; got {default_country_code!r}"
            )
        self._key = key
        self._country_code = default_country_code
        self._development = development

    @property
    def default_country_code(self) -> str:
        return self._country_code

    @property
    def development(self) -> bool:
        """True when the fixed development key is in use (local stack only)."""
        return self._development

    def __repr__(self) -> str:
        kind = "development key" if self._development else "key hidden"
        return f"PhoneHasher({kind}, default_country_code={self._country_code!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would copy the key into whatever stores the pickle.
        raise TypeError("a PhoneHasher holds a secret key and cannot be pickled")

    def normalise(self, raw: str) -> str:
        """The number as '+' and digits with its country code; `ValueError` if not a number.

        The error never repeats the input: it is a phone number, and errors get logged.
        """
        text = unicodedata.normalize("NFKC", raw).strip()
        international = text.startswith("+")
        if international:
            # '+81 (0)90-…' shows the trunk 0 a caller dials at home; it is not part of it.
            text = _TRUNK_ZERO.sub("", text, count=1)
        text = _SEPARATORS.sub("", text)
        digits = text[1:] if international else text
        if not digits.isascii() or not digits.isdigit():
            raise ValueError(
                f"not a phone number ({len(raw)} characters): expected digits with an optional "
                "leading '+' and spaces, '-', '.' or parentheses"
            )
        if not international:
            if digits.startswith("00"):
                digits = digits[2:]
            else:
                digits = self._country_code + digits.removeprefix("0")
        if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or digits.startswith("0"):
            raise ValueError(
                f"not a phone number: {len(digits)} digits with the country code; expected "
                f"{_MIN_DIGITS}–{_MAX_DIGITS}, the country code not starting with 0"
            )
        return "+" + digits

    def hash(self, raw: str) -> str:
        """'hmac-sha256:' + the hex HMAC of the normalised number; stable for a given key.

        A value that is already a hash (a re-driven dead letter's) comes back unchanged.
        """
        if is_phone_hash(raw):
            return raw
        message = self.normalise(raw).encode("ascii")
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return PHONE_HASH_PREFIX + digest


def is_phone_hash(value: str) -> bool:
    """True for a value written as this module's hashes are, 'hmac-sha256:' + 64 hex digits."""
    return _HASHED.fullmatch(value) is not None


def hasher_from_settings(
    key: SecretStr | None, local_stack: bool, default_country_code: str = "81"
) -> PhoneHasher:
    """The service's hasher: `KPI_PHONE_HASH_KEY`, or the development key on the local stack.

    Outside the local stack a missing or short key is a `ConfigError`: the hashes would be
    either impossible or guessable (phone numbers are few enough to try them all).
    """
    secret = key.get_secret_value().strip() if key is not None else ""
    if not secret:
        if local_stack:
            return PhoneHasher(DEVELOPMENT_KEY, default_country_code, development=True)
        raise ConfigError(
            f"{PHONE_KEY_VARIABLE} is not set: ingest needs a secret key to hash phone "
            "numbers outside the local stack; set it to at least 32 random bytes, e.g. the "
            "output of `python -c 'import secrets; print(secrets.token_hex(32))'`, from your "
            "secret store"
        )
    encoded = secret.encode("utf-8")
    if not local_stack and len(encoded) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{PHONE_KEY_VARIABLE} is too short ({len(encoded)} bytes): use at least "
            f"{MIN_KEY_BYTES} random bytes, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return PhoneHasher(encoded, default_country_code)

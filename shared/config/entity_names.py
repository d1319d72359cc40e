"""Display names of the organisation's entities in English, Chinese and Japanese.

`org.yaml` (and a `kpi.org.v1` record) may give a region, branch, team, agent or the company a
`name`, either as one text or with a form per language::

    name: 関東                                      # one text, shown in every language
    name: {en: Kanto Region, zh: 关东区域, ja: 関東本部}  # any of en, zh, ja; at least one

A name asked for in a language falls back to English, then to nothing: pages then show the id
alone. One text is kept as the English form, so that every language falls back to it.
"""

from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from .issues import shown

NameLanguage = Literal["en", "zh", "ja"]
NAME_LANGUAGES: Final[tuple[NameLanguage, ...]] = ("en", "zh", "ja")

NameText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class LocalizedName(BaseModel):
    """An entity's name in up to three languages; `in_language` picks one with the fallback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: NameText | None = None
    zh: NameText | None = None
    ja: NameText | None = None

    @model_validator(mode="after")
    def _one_at_least(self) -> "LocalizedName":
        if self.en is None and self.zh is None and self.ja is None:
            raise PydanticCustomError(
                "empty_name",
                "a name needs at least one of en, zh or ja, e.g. name: {en: Kanto, ja: 関東}; "
                "remove name to show the id alone",
            )
        return self

    def in_language(self, language: str) -> str | None:
        """The name in `language`, else the English one, else None."""
        found: str | None = getattr(self, language, None) if language in NAME_LANGUAGES else None
        return found if found is not None else self.en


def _one_text_is_english(value: object) -> object:
    if isinstance(value, str):
        if not value.strip():
            raise PydanticCustomError(
                "empty_name", "must not be empty; write the name, or remove it to show the id alone"
            )
        return {"en": value}
    if not isinstance(value, dict | LocalizedName):
        raise PydanticCustomError(
            "name_type",
            "expected the name as text or as a mapping of en, zh and ja, got {given}, e.g. "
            "name: {en: Kanto Region, zh: 关东区域, ja: 関東本部}",
            {"given": shown(value)},
        )
    return value


EntityName = Annotated[LocalizedName, BeforeValidator(_one_text_is_english)]
"""A `name` field: one text (kept as the English form) or a mapping of en, zh and ja."""

"""How every page shows an entity: its name in the page's language with the id, or the id."""


def entity_label(entity: str, name: str | None) -> str:
    """``Yokohama Branch (branch:B03)``; the ``LEVEL:ID`` alone when the entity has no name.

    `name` is the one to show in the page's language, e.g. ``org.name(entity, language)``
    (`shared.config.OrgChart.name`: that language, else English, else None).
    """
    return f"{name} ({entity})" if name else entity

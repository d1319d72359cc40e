"""Read `org.yaml` and `calendar.yaml`: the only functions of `shared.config` that touch files.

Every failure (missing or unreadable file, YAML syntax, a key given twice, a field that breaks its
rule) becomes a `ConfigError` whose message names the file, the field path, what is wrong and the
fix, e.g. ``config/org.yaml: agents[3].team: team 'T99' is not defined under teams``.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shared.errors import ConfigError

from .calendar import CalendarConfig
from .org import OrgChart

ORG_FILE = "org.yaml"
CALENDAR_FILE = "calendar.yaml"


# libyaml's parser where PyYAML was built with it (the wheels are): org.yaml of a 1,000-agent
# company took the pure-Python parser about 3 s of every service's and command's start.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """A safe loader that refuses a mapping key given twice instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if repeated:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is given twice (first on line {first}); keep one of them",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike[str]) -> object:
    """The parsed content of a YAML file (safe types only); `ConfigError` naming the file."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: file not found; create it (the repository's config/ holds an example) "
            "or set KPI_CONFIG_DIR to the directory that holds it"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory; point to the YAML file itself") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source}: not UTF-8 text (invalid byte at position {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{source}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"{source}: {where}invalid YAML: {problem}; "
            "fix the syntax (indentation, a missing ':' or an unclosed quote or bracket)"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None


def load_org(path: str | os.PathLike[str]) -> OrgChart:
    """Read and validate `org.yaml` into an `OrgChart`."""
    return OrgChart.from_document(read_yaml(path), source=os.fspath(path))


def load_calendar(path: str | os.PathLike[str]) -> CalendarConfig:
    """Read and validate `calendar.yaml` into a `CalendarConfig` (an empty file: defaults)."""
    return CalendarConfig.from_document(read_yaml(path), source=os.fspath(path))

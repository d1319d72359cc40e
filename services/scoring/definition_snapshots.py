"""The definitions files each version was loaded from, kept in MongoDB by their hash, so that
the score revisions of a switch can be worked out again after a crash: the previous version's
files are gone from `KPI_CONFIG_DIR` by then (docs/recompute.md, "Revisions").

Scoring keeps the files it loads at every start (and `kpi recompute` the files it builds
with); one document per hash, written once. To score with a kept version, its files are
written into a directory beside a copy of the others (calendar, organisation, codes), and that
directory is loaded as any configuration is, checked and hashed again.
"""

import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.kpi.versions import DEFINITIONS_FILE, HASHED_FILES
from shared.transient import mongo_transient

from .ports import StateStoreError, StateStoreUnavailable

SNAPSHOTS: Final = "scoring_definitions"
FILES: Final = (*HASHED_FILES.values(), DEFINITIONS_FILE)  # the label is kept with them
Files = Mapping[str, str | None]  # a file's text by name; None: the file was absent


def files_of(config_dir: Path) -> dict[str, str | None]:
    """The definitions files of a configuration directory, as text."""
    return {
        name: (config_dir / name).read_text(encoding="utf-8")
        if (config_dir / name).exists()
        else None
        for name in FILES
    }


def write_beside(config_dir: Path, files: Files, into: Path) -> Path:
    """A configuration directory in `into`: `config_dir`'s files, with the definitions files
    replaced by `files` (an absent one removed)."""
    shutil.copytree(config_dir, into, dirs_exist_ok=True)
    for name in FILES:
        text = files.get(name)
        if text is None:
            (into / name).unlink(missing_ok=True)
        else:
            (into / name).write_text(text, encoding="utf-8")
    return into


class DefinitionSnapshots(Protocol):
    async def keep(self, definitions_hash: str, files: Files) -> None:
        """Keep the files of a version (once: a hash already kept is left as it is)."""
        ...

    async def files(self, definitions_hash: str) -> dict[str, str | None] | None:
        """The files kept for a version (None: never kept)."""
        ...


class MemorySnapshots:
    """`DefinitionSnapshots` in memory (unit tests)."""

    def __init__(self) -> None:
        self.kept: dict[str, dict[str, str | None]] = {}

    async def keep(self, definitions_hash: str, files: Files) -> None:
        self.kept.setdefault(definitions_hash, dict(files))

    async def files(self, definitions_hash: str) -> dict[str, str | None] | None:
        return self.kept.get(definitions_hash)


def _failure(exc: PyMongoError, message: str) -> StateStoreError:
    kind = StateStoreUnavailable if mongo_transient(exc) else StateStoreError
    return kind(message)


class MongoSnapshots:
    """`scoring_definitions`: `{_id: hash, files: {name: text | null}, kept_at}`."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._collection = client[database][SNAPSHOTS]

    async def keep(self, definitions_hash: str, files: Files) -> None:
        try:
            await self._collection.update_one(
                {"_id": definitions_hash},
                {"$setOnInsert": {"files": dict(files), "kept_at": datetime.now(UTC)}},
                upsert=True,
            )
        except PyMongoError as exc:
            raise _failure(exc, f"cannot keep definitions {definitions_hash}: {exc}") from exc

    async def files(self, definitions_hash: str) -> dict[str, str | None] | None:
        try:
            document = await self._collection.find_one({"_id": definitions_hash})
        except PyMongoError as exc:
            raise _failure(exc, f"cannot read definitions {definitions_hash}: {exc}") from exc
        return None if document is None else dict(document["files"])

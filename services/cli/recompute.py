"""`kpi recompute`: build, switch, roll back and drop state generations (docs/recompute.md)."""

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.settings import Settings

if TYPE_CHECKING:
    from services.scoring.generations import Generations


async def recompute(
    settings: Settings, *, label: str | None, action: str | None, since: str | None = None
) -> int:
    """Without `action`, build a new generation (or resume the one under way) and switch to
    it, republishing the periods from `since` on (`--from`, a canonical period name; None:
    every period, or the one a resumed build was begun with); `status`, `rollback`,
    `drop-previous` and `abandon` change or show the control document only."""
    if since is not None and action is not None:
        print(
            f"kpi recompute: --from goes with building a generation, not with --{action}",
            file=sys.stderr,
        )
        return 2
    from services.scoring.generation_store import MongoGenerations  # noqa: PLC0415
    from services.scoring.generations import (  # noqa: PLC0415
        abandon,
        drop_previous,
        rollback,
    )
    from services.scoring.recompute import Recompute  # noqa: PLC0415
    from shared import mongo  # noqa: PLC0415
    from shared.kpi.config import load_kpi_config  # noqa: PLC0415
    from shared.kpi.versions import load_definitions  # noqa: PLC0415

    client = mongo.create_client(settings, app_name="kpi-recompute")
    try:
        generations = MongoGenerations(client, settings.mongodb_database)
        state = await generations.read()
        if action == "status":
            _print_status(state)
            return 0
        if action == "rollback":
            target = state.previous
            files = load_definitions(settings.config_dir).hash
            built_with = state.info(target).definitions_hash if target else None
            if built_with is not None and built_with != files:
                print(
                    f"kpi recompute --rollback: generation {target} was built with definitions "
                    f"{built_with}, but KPI_CONFIG_DIR ({settings.config_dir}) holds {files}. "
                    "Scoring reads the files again when it follows the switch: put back the "
                    "files the generation was built with first (e.g. git revert), then roll back",
                    file=sys.stderr,
                )
                return 2
            back = rollback(state, now=datetime.now(UTC))
            await generations.replace(state, back)
            print(f"rolled back: generation {back.active} is active; {back.previous} is kept")
            return 0
        if action in {"drop-previous", "abandon"}:
            kept, dropped = drop_previous(state) if action == "drop-previous" else abandon(state)
            await generations.replace(state, kept)
            await generations.drop(dropped)
            print(f"dropped generation {dropped}; generation {kept.active} is active")
            return 0
        config = load_kpi_config(settings.config_dir)
        result = await Recompute(settings, client, config, out=_say).run(label, since)
    finally:
        await client.close()
    rate = result.applied / result.seconds if result.seconds > 0 else 0.0
    print(
        f"recomputed {result.total:,} events into generation {result.generation} "
        f"({result.applied:,} by this run, {rate:,.0f} events/s, {result.seconds / 60:.1f} min); "
        f"it replaced {result.replaced}"
    )
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


def _print_status(state: "Generations") -> None:
    print(f"active    {state.active}")
    print(f"previous  {state.previous or '-'}")
    print(f"building  {state.building or '-'}")
    for generation, info in sorted(state.known.items()):
        print(
            f"  {generation}: definitions {info.definitions_hash or 'unknown'}"
            f"{' (' + info.label + ')' if info.label else ''}"
            f", begun {info.created_at or '-'}, switched to {info.switched_at or '-'}"
            + (f", republishing from {info.republish_from}" if info.republish_from else "")
        )

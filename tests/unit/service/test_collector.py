"""The services' cycle collector: the youngest generation's threshold from the settings, the
older ones at Python's ratios; 0 leaves Python's default; what start-up loaded is frozen."""

import gc
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from shared.service.collector import freeze_loaded, tune_collector
from shared.settings import Settings


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.usefixtures("restored")
def test_the_youngest_generation_is_collected_at_the_threshold_set() -> None:
    gc.set_threshold(700, 10, 10)
    tune_collector(50_000)
    assert gc.get_threshold() == (50_000, 10, 10)


@pytest.mark.usefixtures("restored")
def test_zero_keeps_pythons_default() -> None:
    gc.set_threshold(700, 10, 10)
    tune_collector(0)
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("restored")
def test_what_was_loaded_is_frozen() -> None:
    loaded = [{"agent": n} for n in range(1_000)]
    freeze_loaded()
    assert gc.get_freeze_count() >= len(loaded)


def test_the_default_and_the_bounds() -> None:
    assert Settings().gc_young_threshold == 50_000
    off = Settings(KPI_GC_YOUNG_THRESHOLD="0")  # type: ignore[call-arg]
    assert off.gc_young_threshold == 0
    with pytest.raises(ValidationError, match="KPI_GC_YOUNG_THRESHOLD"):
        Settings(KPI_GC_YOUNG_THRESHOLD="-1")  # type: ignore[call-arg]

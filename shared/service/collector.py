"""Python's cycle collector, tuned for services that hold a batch of tens of thousands of
objects: the same events, decoded, at each of its collections.

At Python's default thresholds (700, 10, 10) the youngest generation is collected every 700
allocations, and every object alive then is examined again as it ages; decoding 50,000
canonical events allocates about half a million objects, and with another batch alive the
collector took a third of the time (`benchmarks`: 21,800 events/s decoded with it, 27,600 at a
threshold of 50,000, 36,600 with it off). Nearly everything a batch allocates is freed by
reference counting, not by the collector, so collecting less often costs little memory; it
is not turned off, because asyncio and exceptions do make cycles.

Once the service is built, what was loaded (modules, configuration, the organisation) is
moved out of the collector's sight (`gc.freeze`): it lives as long as the process and need not
be examined at every full collection.
"""

import gc
import logging

logger = logging.getLogger(__name__)


def tune_collector(young_threshold: int) -> None:
    """Collect the youngest generation every `young_threshold` allocations (0: Python's
    default), the older ones at Python's own ratios."""
    if young_threshold <= 0:
        return
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
    logger.debug("cycle collector thresholds %s", gc.get_threshold())


def freeze_loaded() -> None:
    """Move every object alive now (what start-up loaded) to the permanent generation."""
    gc.collect()
    gc.freeze()

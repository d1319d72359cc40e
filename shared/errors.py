"""Root exceptions of the shared package; every library error is translated at the boundary.

Two kinds of failure matter to a consumer: a `TransientError` (a lost connection, a timeout, an
aborted transaction) may go away by itself, so the same work is tried again; anything else is
permanent (a bug, a record the code cannot handle), and retrying it would stall the partition,
so the record is dead-lettered as `processing_error` and the partition moves on.
"""


class KpiError(Exception):
    """Root of every error the platform raises on purpose."""


class ConfigError(KpiError):
    """A configuration file or variable is invalid; the message names the file, field and fix."""


class StackError(KpiError):
    """The embedded local stack could not be started, probed or stopped."""


class TransientError(KpiError):
    """A failure that may go away on its own: the same work is worth trying again."""


class StoreError(KpiError):
    """A database refused an operation in a way retrying will not fix."""


class StoreUnavailable(StoreError, TransientError):
    """The database could not be reached, timed out, or aborted the transaction: retry."""


class OutputError(KpiError):
    """The broker refused to publish, in a way retrying will not fix."""


class OutputUnavailable(OutputError, TransientError):
    """The broker could not be reached or timed out before acknowledging: retry."""

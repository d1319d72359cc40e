"""Root exceptions of the shared package; every library error is translated at the boundary."""


class KpiError(Exception):
    """Root of every error the platform raises on purpose."""


class ConfigError(KpiError):
    """A configuration file or variable is invalid; the message names the file, field and fix."""


class StackError(KpiError):
    """The embedded local stack could not be started, probed or stopped."""

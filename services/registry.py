"""Which composition root builds which service, for `kpi serve NAME`."""

import importlib
from collections.abc import Callable
from typing import cast

from shared.service import ServiceApp
from shared.settings import SERVICE_NAMES, Settings

AppFactory = Callable[[Settings], ServiceApp]


def app_factory(name: str) -> AppFactory:
    """The `create_app` of a service, imported only when that service is run."""
    if name not in SERVICE_NAMES:
        raise ValueError(f"unknown service {name!r}; expected one of {', '.join(SERVICE_NAMES)}")
    module = importlib.import_module(f"services.{name}.app")
    return cast("AppFactory", module.create_app)

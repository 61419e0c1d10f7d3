"""What the diagrams' service tasks call, one module per business, and each business's
descriptor (name, start rules, summary). The engine finds both through `HANDLERS` and
`BUSINESSES`, keyed by the names written in the diagrams."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .context import HandlerContext

Handler = Callable[..., dict | None]
HANDLERS: dict[str, Handler] = {}
BUSINESSES: dict[str, Business] = {}


@dataclass(frozen=True)
class Business:
    """A business (业务) as the hall knows it beside its diagram."""

    key: str
    name: str
    #: At most one unfinished application per unit (e.g. 基数调整).
    single_open: bool = False
    #: Data the first task starts with (unit info shown read-only, months…).
    initial_data: Callable[[HandlerContext], dict] | None = None
    #: Counts and totals shown in lists and the instance view.
    summary: Callable[[int], dict] | None = None
    #: The page the employer edits the application on, if not the generic task page.
    built: bool = True


def handler(name: str) -> Callable[[Handler], Handler]:
    """Register a service-task handler under the operator name the diagram uses."""

    def register(func: Handler) -> Handler:
        if name in HANDLERS:
            raise ValueError(f"duplicate handler {name}")
        HANDLERS[name] = func
        return func

    return register


def register_business(business: Business) -> Business:
    BUSINESSES[business.key] = business
    return business


def _load() -> None:
    from . import base_adjustment, common  # noqa: F401  (modules register on import)


_load()

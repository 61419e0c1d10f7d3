"""What the diagrams' service tasks call, one module per business, and each business's
descriptor (name, start rules, summary). The engine finds both through `HANDLERS` and
`BUSINESSES`, keyed by the names written in the diagrams."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from services.manifest_rows import Totals

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
    #: Counts and totals shown in lists and the instance view, from the 清册's totals
    #: (`services.manifest_rows.Totals`), which each edit keeps current.
    summary: Callable[[Totals], dict] | None = None
    #: What a start request may carry (`{"data": {...}}`, e.g. 汇缴's month): checks it and
    #: returns what the first task starts with beyond `initial_data`, or raises
    #: InvalidInput with the fields' problems. None: a start carries no data.
    start_data: Callable[[HandlerContext, dict], dict] | None = None
    #: How many rows completing a task of a unit's application works through, when it is
    #: not its 清册's rows (汇缴核定 writes a line per person in 正常): above ASYNC_ROWS
    #: the completion runs as a job (`engine.runner.TooLargeForRequest`).
    work_size: Callable[[int], int] | None = None
    #: Why an application waiting on the unit cannot be ended (结束流程) any more, given its
    #: id (e.g. an approved 补缴 is money owed); None: it can be.
    refuse_end: Callable[[int], str | None] | None = None


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
    """Every module of the package registers its handlers and business on import."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "context":
            importlib.import_module(f"{__name__}.{module.name}")


_load()

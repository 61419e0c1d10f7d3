"""SpiffWorkflow's task iterators stop 1,000 levels down the task tree by default. Each
pass of a loop (an application returned and resubmitted) adds levels, so after about 330
rounds the next task would be out of the engine's sight and the application stranded.
The bound only guards against cycles the tree cannot have, and iterating stays linear in
the tasks, so the hall lifts it for both iterator classes at import."""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

MAX_DEPTH = 10**6


def _lift(cls) -> None:
    code = cls.__init__.__code__
    names = code.co_varnames[1:code.co_argcount]  # after self
    defaults = list(cls.__init__.__defaults__)
    position = names.index("max_depth") - (len(names) - len(defaults))
    defaults[position] = MAX_DEPTH
    cls.__init__.__defaults__ = tuple(defaults)


for _cls in (TaskIterator, BpmnTaskIterator):
    _lift(_cls)

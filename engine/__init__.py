"""engine: the SpiffWorkflow adapter (deploy, run, store, history, task lists)."""

from . import spiff_limits  # noqa: F401  (lifts SpiffWorkflow's task-tree depth bound)

"""Domain rules and data of the hall. Knows nothing of HTTP or BPMN."""

"""The pure core: calendar arithmetic, definitions (their schema, graph checks, catalogue and
committed limits), the checking of what users type, the rules of each step, alert
classification and report figures. No I/O, no SQL; it imports nothing of the project but
:mod:`workflow.errors` (a contract in ``pyproject.toml`` checks it)."""

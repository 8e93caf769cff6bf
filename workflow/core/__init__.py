"""The pure core: calendar arithmetic, definitions and their checks, the rules of each step,
alert classification and report figures. No I/O, no SQL; it imports nothing of the project
but :mod:`workflow.errors` (a contract in ``pyproject.toml`` checks it)."""

"""``python -m workflow.cli``: the command line, as the ``sstransfer`` script runs it."""

from . import main

main()

"""``python -m dispatch_tui`` runs the ``dispatch`` command."""

from dispatch_tui.cli import main

main()

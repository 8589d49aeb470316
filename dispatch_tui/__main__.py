"""``python -m dispatch_tui`` runs the ``dispatch`` command."""

from dispatch_tui.cli.command import main

main()

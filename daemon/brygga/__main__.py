"""``python -m brygga`` runs the CLI."""

from brygga.cli import main

raise SystemExit(main())

"""`python -m clsweep` runs the command line."""

from clsweep.cli import main

raise SystemExit(main())

"""`python -m tc_notebook` is the `tc-notebook` command."""

from .cli import main

raise SystemExit(main())

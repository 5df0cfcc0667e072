"""`python -m reports`: the `lenet` command (reports/cli.py)."""

import sys

from .cli import main

sys.exit(main())

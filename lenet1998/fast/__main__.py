"""`python -m lenet1998.fast`: build the C kernel ahead of time (the Makefile's install step)."""

import sys

from .build import main

sys.exit(main())

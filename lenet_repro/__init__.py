"""Shared infrastructure of lenet-repro: data, devices, run records and the published references.

Both model packages (`lenet1998`, `modern`) and the report generator (`reports`) import from here;
nothing here imports them. The `lenet` command, which dispatches to all of them, is reports/cli.py.
"""

__version__ = "0.1.0"

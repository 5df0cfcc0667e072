"""Shared infrastructure of lenet-repro: data, devices, seeds, run records and the `lenet` CLI.

Both model packages (`lenet1998`, `modern`) import from here; nothing here imports them
except the CLI dispatcher. See DESIGN.md in the repository for the data flow.
"""

__version__ = "0.1.0"

"""Endpoint families. Every module in this package is imported at start (sorted by name), and
registers its routes, scenario sections, fault bodies and controls as it is imported: adding a
family is adding a module here, with no central list to edit. See sim/README.md."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names

"""The cyclic garbage collector paused while a command builds many objects that form no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Reading a directory and planning build hundreds of thousands of small objects and no
    cycles: the collector would only scan them again and again (a quarter of the load time,
    and some 40 ms of a plan at 100,000 values). Nested pauses keep it off until the outermost
    one ends; what became garbage meanwhile is collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

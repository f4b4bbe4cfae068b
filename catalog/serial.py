"""Who raises a package's ``last_serial``: the per-row receivers, or a writer that sets it itself.

Every change of a release or file made here raises its package's serial by one
(``catalog.receivers``; ``PackageQuerySet.serial_raise``). A writer that sets
the serial itself (``import_pypi`` copies PyPI's) or removes the packages
anyway (a package deletion) runs inside :func:`serial_managed`, which turns
the per-row raise off for its context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_serial_managed: ContextVar[bool] = ContextVar("catalog_serial_managed", default=False)


@contextmanager
def serial_managed() -> Iterator[None]:
    """Within this block, release and file writes do not raise their package's serial."""
    token = _serial_managed.set(True)
    try:
        yield
    finally:
        _serial_managed.reset(token)


def serial_is_managed() -> bool:
    """Whether the current context's writer sets the serial itself (no per-row raise)."""
    return _serial_managed.get()

"""A guard against a reference-count bug of Qt for Python 6.12.0 on CPython 3.11.

Those wheels drop one reference to ``None`` on every call of a Qt method that returns nothing
(``processEvents``, ``setText``, every ``QPainter`` call in a paint event...). On CPython 3.12+ ``None``
is immortal and nothing happens; on 3.11 its count (about 60 000 at start) reaches zero after a few
thousand repaints and Python aborts with "none_dealloc: deallocating None" (PySide6 6.11.3 does not
do this). The guard measures the bug once and, only where it is present, gives ``None`` a reserve of
references that no realistic session can use up. The real fix is a PySide6 without the bug (see the
README); the guard keeps the panel alive meanwhile.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

PROBE_CALLS = 64
#: References added to None when the bug is present: at a million leaked per second, 12 days.
RESERVE = 1 << 40
_checked = False


def binding_leaks_none() -> bool:
    """Whether a void Qt call drops a reference to None (measured, not guessed from versions)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= PROBE_CALLS // 2


def protect_none() -> bool:
    """Install the guard if this interpreter and binding need it (once per process); True if installed."""
    global _checked
    if _checked or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    _checked = True
    if not binding_leaks_none():
        return False
    import PySide6

    log.warning("PySide6 %s on Python %d.%d drops a reference to None on every void Qt call; compensating "
                "(install a PySide6 without this bug, e.g. 6.11)", PySide6.__version__, *sys.version_info[:2])
    ctypes.c_ssize_t.from_address(id(None)).value += RESERVE
    return True

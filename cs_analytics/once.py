"""Values made once per key and shared by threads: the first thread to ask for a key makes its
value, and a thread asking while it does waits for that value instead of making it again.
Optionally only the `keep` values asked for most recently are kept (a dropped value is made
again when asked for). The snapshot's derived values (`warehouse.store.Snapshot.derived_once`)
and the values the metrics derive from held rows (`metrics.held.HeldRows.memo`) are kept so."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

_MISSING = object()


class MadeOnce:
    """`get(key, make)`: the value of `key`, made by `make()` the first time it is asked for.
    `values` holds the values made (oldest asked for first when `keep` is set)."""

    def __init__(self, keep: int | None = None):
        self.keep = keep
        self.values: OrderedDict = OrderedDict()
        self._locks: dict = {}  # key → the lock its maker holds
        self._locks_lock = threading.Lock()

    def get(self, key, make: Callable[[], Any]) -> Any:
        found = self.values.get(key, _MISSING)
        if found is not _MISSING:
            if self.keep is not None:
                try:
                    self.values.move_to_end(key)
                except KeyError:  # (dropped meanwhile by another thread: still a good value)
                    pass
            return found
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self.values.get(key, _MISSING)
            if found is _MISSING:
                found = self.values[key] = make()
        if self.keep is not None:
            with self._locks_lock:
                while len(self.values) > self.keep:
                    dropped, _ = self.values.popitem(last=False)
                    self._locks.pop(dropped, None)
        return found

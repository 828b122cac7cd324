"""Data access for pages: the current snapshot, and metrics results cached per snapshot.

`call(fn, snap, *args)` runs a metrics function once per (snapshot id, function, arguments) and
keeps the result in a bounded `st.cache_data` cache: a new snapshot has a new id, so a refresh
is visible on the next rerun without clearing anything, and old entries age out (max_entries,
ttl). The snapshot itself is passed as an underscore argument (not hashed). Results must be
small (aggregated by the metrics API) and picklable: each run gets its own copy. A per-account
list (`metrics.held.per_account`) is not cached here: the metrics hold its rows once per
snapshot file, and each call takes the filtered accounts' rows from them. `call_shared` is
`call` for large results the pages only read (report objects): every run gets the one cached
object. Calls run in the page's own thread, where the page needs their value: once a
snapshot's rows are held, a call is in-memory work, which worker threads would only slow by
contending for the interpreter with the page's drawing (docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cs_analytics.config import Settings, config_path, data_home, load_settings
from cs_analytics.errors import NoSnapshot, SnapshotOutdated
from cs_analytics.metrics import filters as filters_api
from cs_analytics.metrics.filters import Filters
from cs_analytics.metrics.held import is_per_account
from cs_analytics.metrics.periods import Period
from cs_analytics.outputs import links
from cs_analytics.outputs.links import SalesforceOrg
from cs_analytics.secrets import load_secrets
from cs_analytics.warehouse.store import Damage, Snapshot, Store

CACHE_ENTRIES = 512
CACHE_TTL_SECONDS = 3600


@st.cache_resource(show_spinner=False)
def _settings_cached(stamp: float, path: str) -> Settings:
    return load_settings()


def _this_run() -> dict | None:
    """What this script run has already looked up (None outside a script run): one dict per
    run, replaced when the next run starts (Streamlit gives each run new cursors)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    kept = getattr(ctx, "_cs_analytics_run", None)
    if kept is None or kept[0] is not ctx.cursors:
        kept = (ctx.cursors, {})
        ctx._cs_analytics_run = kept
    return kept[1]


def _once_per_run(name: str, make: Callable[[], Any]) -> Any:
    """`make()`, once per script run: every part of a page drawn in one run sees the same
    value (the same settings, the same snapshot)."""
    run = _this_run()
    if run is None:
        return make()
    if name not in run:
        run[name] = make()
    return run[name]


def settings() -> Settings:
    """Validated settings, reloaded when the settings file changes (looked at once per run)."""
    return _once_per_run("settings", _settings_now)


def _settings_now() -> Settings:
    path = config_path()
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = 0.0
    return _settings_cached(stamp=stamp, path=str(path))


def store() -> Store:
    return Store(data_home())


@st.cache_resource(show_spinner=False)
def salesforce_org() -> SalesforceOrg:
    """The hosts Salesforce links may point to (cs_analytics.outputs.links), from the secrets read
    when the app started (the app is restarted when secrets change)."""
    return links.salesforce_org(load_secrets())


PREFETCHED = "prefetched"  # the Snapshot.derived name of `_prefetch`'s futures
# One worker thread, shared by every session of the process, for `_prefetch`: DuckDB releases
# the interpreter while it reads, so the load overlaps the first page's drawing.
_workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cs-analytics-prefetch")


def current_snapshot() -> Snapshot | None:
    """The published snapshot (read-only), or None when nothing has been published yet.

    Opened once per run — every part of the run reads the same snapshot — so a refresh
    published by another process shows on the next rerun (the connection is cached by the
    store)."""
    return _once_per_run("snapshot", _current_snapshot_now)


def _current_snapshot_now() -> Snapshot | None:
    try:
        snap = store().open_current()
    except NoSnapshot:
        return None
    _prefetch(snap)
    return snap


def snapshot_outdated() -> SnapshotOutdated | None:
    """Why the snapshot to serve is not read because another version built it (None: it is
    read, or there is none) — until an import, a refresh or `rebuild` builds it again. Looked
    at once per run, like `current_snapshot`."""
    return _once_per_run("outdated", _snapshot_outdated_now)


def _snapshot_outdated_now() -> SnapshotOutdated | None:
    try:
        store().open_current()
    except SnapshotOutdated as exc:
        return exc
    except NoSnapshot:
        return None
    return None


def snapshot_damage() -> Damage | None:
    """Why the current snapshot cannot be served as it is (None: it can), for the frame."""
    return store().resolve().damage


def _prefetch(snap: Snapshot) -> None:
    """The first time a snapshot file is opened, start loading on a worker thread what a
    filter change reads and a page without filters does not: the accounts' filter attributes
    (`metrics.filters.account_attributes`), from which a filter selects the rows held in
    memory. The first filter change after a refresh then finds them loaded."""
    snap.derived_once(PREFETCHED, "attributes",
                      lambda: _workers.submit(filters_api.account_attributes, snap))


def wait_for_prefetch(snap: Snapshot, timeout: float) -> None:
    """Wait until what `_prefetch` started for `snap`'s file has finished (the benchmark
    times a filter change after it, as a user clicks after the page is drawn)."""
    for loading in list(snap.derived(PREFETCHED).values()):
        loading.result(timeout=timeout)


def _fn_key(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


# Settings passed to a cached call are keyed by a fingerprint of their values (never by
# hashing the dataclass tree on every call). The settings object is the same on every run
# until the file changes (`settings()`), so each is fingerprinted once.
_FINGERPRINTS: dict[int, tuple[Settings, str]] = {}


def _fingerprint(settings: Settings) -> str:
    known = _FINGERPRINTS.get(id(settings))
    if known is None or known[0] is not settings:
        if len(_FINGERPRINTS) > 64:
            _FINGERPRINTS.clear()
        known = (settings, hashlib.sha256(repr(settings).encode()).hexdigest())
        _FINGERPRINTS[id(settings)] = known
    return known[1]


# Arguments made only of these types are keyed by their repr, which says every value they
# hold (dataclass reprs list every field), instead of Streamlit walking each dataclass
# through its reduce protocol. Exact types: a subclass could print less than it holds.
_REPR_TYPES = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime, Period,
                         Filters})


def _plain(value: Any) -> bool:
    if type(value) in (tuple, list):
        return all(_plain(v) for v in value)
    return type(value) in _REPR_TYPES


def _key(value: Any) -> Any:
    if isinstance(value, Settings):
        return ("settings", _fingerprint(value))
    if _plain(value) and not isinstance(value, str):
        return ("repr", repr(value))
    return value


def _keys(snap: Snapshot, fn: Callable, args: tuple, kwargs: dict) -> dict:
    """What a cached call is keyed by (hashed) and what it runs with (underscored, not
    hashed), as keywords: keywords carry their names, so Streamlit does not look each
    positional argument's name up through inspect.signature."""
    arg_keys = tuple(_key(a) for a in args)
    kwarg_keys = tuple(sorted((k, _key(v)) for k, v in kwargs.items()))
    if _texts_only((arg_keys, kwarg_keys)):  # one string for Streamlit to hash, not a tree
        arg_keys, kwarg_keys = repr((arg_keys, kwarg_keys)), ()
    return {"snapshot_id": snap.id, "fn_key": _fn_key(fn), "arg_keys": arg_keys,
            "kwarg_keys": kwarg_keys, "_snap": snap, "_fn": fn, "_args": args, "_kwargs": kwargs}


def _texts_only(value: Any) -> bool:
    """Whether `value` is text in nested tuples only (its repr then says all of it)."""
    if type(value) is tuple:
        return all(_texts_only(v) for v in value)
    return type(value) is str


@st.cache_data(max_entries=CACHE_ENTRIES, ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _cached_call(snapshot_id: str, fn_key: str, arg_keys: tuple, kwarg_keys: tuple,
                 _snap: Snapshot, _fn: Callable, _args: tuple, _kwargs: dict) -> Any:
    return _fn(_snap, *_args, **_kwargs)


def call(fn: Callable, snap: Snapshot, *args, **kwargs) -> Any:
    """`fn(snap, *args, **kwargs)`, cached per snapshot id and arguments (settings by the
    fingerprint of their values); a per-account list straight from the rows it holds."""
    if is_per_account(fn):
        return fn(snap, *args, **kwargs)
    return _cached_call(**_keys(snap, fn, args, kwargs))


@st.cache_resource(max_entries=64, ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _shared_call(snapshot_id: str, fn_key: str, arg_keys: tuple, kwarg_keys: tuple,
                 _snap: Snapshot, _fn: Callable, _args: tuple, _kwargs: dict) -> Any:
    return _fn(_snap, *_args, **_kwargs)


def call_shared(fn: Callable, snap: Snapshot, *args, **kwargs) -> Any:
    """`call`, for a large result the pages only read (a report object): every run gets the
    same object instead of an unpickled copy of it. The caller must not change it — copy
    first (`copy.copy`) to set attributes."""
    return _shared_call(**_keys(snap, fn, args, kwargs))

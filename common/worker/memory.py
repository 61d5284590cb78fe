"""Where a worker's CatBoost models are allocated and given back: one thread, then a trim.

CatBoost allocates through its own mimalloc, whose heaps are per thread: a block freed by another
thread than the one that allocated it goes back to its page only when the owning thread next
allocates there, so the page stays resident. Members loaded by the reloading thread and dropped by
the fuse thread kept 60 MB of 142 in CatBoost's heap at 200 models (in-process, after a gc).
So every CatBoost model a worker keeps is created on one long-lived thread (``on_model_thread``:
reading a model, ``sum_models``), and every set or member it lets go of is dropped there
(``release``), where mimalloc returns the freed pages at once (``MIMALLOC_PURGE_DELAY=0``,
``common/worker/__init__.py``).

Python's own large buffers (a model file's bytes, the registry's rows) come from glibc's malloc,
which keeps freed memory inside the process until it is trimmed: 43 MB at 200 models. Each load
and each release ends with ``malloc_trim(0)`` (a few ms; nothing where glibc is not the libc).
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_ident: dict[int, int] = {}  # pid -> ident of that process's models thread


@functools.cache
def _executor(pid: int) -> ThreadPoolExecutor:
    """The process's models thread (keyed by pid: a forked child starts its own). Never a daemon:
    a process exiting while CatBoost loads or sums models waits for it."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="models")
    _ident[pid] = executor.submit(threading.get_ident).result()
    return executor


def on_model_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` run on the models thread; its result or its exception.

    Called from the models thread itself, it runs at once. Jobs on that thread never wait for a
    lock another thread may hold while it waits here, so no call can deadlock."""
    pid = os.getpid()
    executor = _executor(pid)
    if threading.get_ident() == _ident[pid]:
        return fn(*args, **kwargs)
    return executor.submit(fn, *args, **kwargs).result()


def release(objects: list[Any]) -> Future[None]:
    """Drop ``objects`` (the caller's last references, moved into the list) on the models thread,
    then trim glibc's heap. The caller keeps no other reference. No garbage collection: what a
    worker lets go of is freed by reference counting (a ``gc.collect`` holds the GIL 50-230 ms)."""
    return _executor(os.getpid()).submit(_drop, objects)


def _drop(objects: list[Any]) -> None:
    objects.clear()
    trim_heap()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    except OSError:
        return None


def trim_heap() -> None:
    """Give glibc malloc's free pages back to the system (``malloc_trim(0)``: every arena)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

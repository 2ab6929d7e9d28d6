"""The cyclic garbage collector paused while a large upload is read, validated or committed.

A 100,000-row sheet is millions of tuples and strings, none of them in a reference cycle, and
each time the collector ran it walked the whole growing heap: ~0.8 s of a 3.5 s import
(bench/import.py). Reference counting still frees everything as before; only cycles made during
the call wait for the collector, which resumes when the last paused call ends (on any thread).
"""
from __future__ import annotations

import functools
import gc
import threading

_lock = threading.Lock()
_depth = 0  # paused calls running now
_resume = False  # whether the collector was on when the first of them began


def paused(func):
    """`func` run with the cyclic collector off (and put back as it was when no paused call is left)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        global _depth, _resume
        with _lock:
            if _depth == 0:
                _resume = gc.isenabled()
                gc.disable()
            _depth += 1
        try:
            return func(*args, **kwargs)
        finally:
            with _lock:
                _depth -= 1
                if _depth == 0 and _resume:
                    gc.enable()
    return wrapper

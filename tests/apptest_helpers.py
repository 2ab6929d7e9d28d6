"""Small helpers the AppTest files share (a module of its own: `conftest` is two modules here)."""
from __future__ import annotations


def no_errors(at) -> None:
    """An AppTest run raised nothing and showed no st.error."""
    assert [e.value for e in at.exception] == [] and [e.value for e in at.error] == []

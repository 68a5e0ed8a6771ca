"""casampi's singleton handles: `X()` is a thin object that delegates to one hidden instance.

A handle can be dropped (`del`) and made again; every handle of a class sees the same state.
"""
from __future__ import annotations


class SingletonHandle:
    """Subclasses define `_create()`, which makes the one implementation (or raises, saying why
    this process may not have one)."""

    _implementation = None

    def __init__(self, *args, **kwargs):
        cls = type(self)
        if cls.__dict__.get("_implementation") is None:
            cls._implementation = cls._create(*args, **kwargs)

    @classmethod
    def _create(cls, *args, **kwargs):
        raise NotImplementedError

    @classmethod
    def _existing(cls):
        """The implementation if some handle made it, else None."""
        return cls.__dict__.get("_implementation")

    def __getattr__(self, name: str):
        return getattr(type(self)._implementation, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(type(self)._implementation, name, value)

"""casampi's `private` modules that user code and casampi's tests import."""

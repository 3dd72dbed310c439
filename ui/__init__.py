"""The PySide6 matte-review panel. Qt is imported lazily inside, never by the batch host."""

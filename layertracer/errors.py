"""Errors a user can act on: the CLI prints them as one line, batch stages store them in the row's `error`."""


class UserError(Exception):
    """Bad input or configuration, with a message that says what to fix (no traceback is shown)."""


class ImageError(UserError):
    """An image that cannot be read, is too large, or has the wrong shape."""


class GridError(UserError):
    """A frame grid that cannot be split into the requested frames."""


class ModelError(UserError):
    """A model or LoRA that cannot be found or loaded."""


class StorageError(UserError):
    """A URI that cannot be read or written (missing file, denied, unreachable store)."""

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


def error_line(exc: BaseException) -> str:
    """The informative line of a library error, for one-line messages.

    Torch's size mismatches come on the second line; very long messages are cut.
    """
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    mismatch = [line for line in lines if line.startswith("size mismatch")]
    if mismatch:
        text = mismatch[0]
    elif len(lines) > 1 and lines[0].endswith(":"):
        text = f"{lines[0]} {lines[1]}"
    else:
        text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."

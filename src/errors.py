"""The project's error base: a problem the user can fix (input, configuration, data, checkpoint, machine).

Entry points print a :class:`CrnnError` as one ``error: ...`` line and exit non-zero; any other
exception is a bug and keeps its traceback.
"""


class CrnnError(Exception):
    """A user-facing problem with a message that says what is wrong and what to do."""


class UsageError(CrnnError, ValueError):
    """A missing or contradictory argument."""


class SetupError(CrnnError, RuntimeError):
    """The machine or launcher is not as the run needs it (no GPU, no scheduler, port taken ...)."""

"""The one exception type that reaches the user as a one-line message."""


class UserError(Exception):
    """Bad input or settings: the CLI prints ``error: <message>`` and exits with status 2.

    The message must fit on one line and say what to do about it.
    """

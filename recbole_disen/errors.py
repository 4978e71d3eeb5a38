"""The one exception type that reaches the user as a one-line message."""


class UserError(Exception):
    """Bad input or settings: the CLI prints ``error: <message>`` and exits with status 2.

    The message must fit on one line and say what to do about it.
    """


def one_line(error):
    """An exception's message on one line, for a UserError that reports it."""
    return " ".join(str(error).split()) or type(error).__name__

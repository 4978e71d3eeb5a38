"""The one exception type that reaches the user as a one-line message, and the one way to put another
exception on one line."""

import argparse
import re

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colour codes (RecBole colours its messages)


class UserError(Exception):
    """Bad input or settings: the CLI prints ``error: <message>`` and exits with status 2.

    The message must fit on one line and say what to do about it.
    """


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one UserError line (argparse prints usage and exits)."""

    def error(self, message):
        """Report a bad command line as a UserError that names the help to read."""
        raise UserError(f"{message} (see `{self.prog} --help`)")


class ResumeRefused(UserError):
    """A checkpoint that ``--resume`` (or the bench, continuing an interrupted run) cannot continue."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``last`` is the run's '-last.pth' checkpoint to continue from, or None when
    no epoch had ended yet."""

    def __init__(self, last):
        super().__init__(last)
        self.last = last


def one_line(error, *, with_type=False, first_line=False, limit=None):
    """An exception's message on one line, for a message that reports it.

    Terminal colour codes are dropped and white space is folded. ``first_line`` keeps only the first line
    of the message, ``limit`` cuts it to that many characters, ``with_type`` puts the exception's type
    first (``ValueError: ...``). A message that is empty gives the type's name alone.
    """
    text = ANSI_ESCAPE.sub("", str(error)).strip()
    if first_line:
        text = text.split("\n", 1)[0]
    text = " ".join(text.split())[:limit]
    if not text:
        return type(error).__name__
    return f"{type(error).__name__}: {text}" if with_type else text

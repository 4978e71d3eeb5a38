"""The one exception type that reaches the user as a one-line message, the one way to put another
exception on one line, and a stop by SIGTERM handled as Ctrl-C is."""

import argparse
import contextlib
import re
import signal
import threading

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


def positive_int(text):
    """argparse type of a count that must be at least 1 (checked before any work starts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class ResumeRefused(UserError):
    """A checkpoint that ``--resume`` (or the bench, continuing an interrupted run) cannot continue."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``last`` is the run's '-last.pth' checkpoint to continue from, or None when
    no epoch had ended yet."""

    def __init__(self, last):
        super().__init__(last)
        self.last = last


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within it, SIGTERM (a plain ``kill``, ``timeout``, a scheduler's stop) ends the work as Ctrl-C does: a
    run removes its unwritten files and says how to continue, instead of dying in the middle of an epoch.
    Outside the main thread, where Python cannot set a handler, it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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

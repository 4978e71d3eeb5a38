"""Setting values read from text without running them (RecBole's Config would ``eval()`` them)."""

import ast


def literal(text):
    """A command-line or config_dict string as RecBole reads it, without running it: a Python
    literal (number, list, dict, tuple, bool, None, quoted string), true/false in any case, or else
    the string itself."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return {"true": True, "false": False}.get(text.lower(), text)
    # As RecBole: a value of any other type (a complex number, a set, bytes) stays the text.
    return value if value is None or isinstance(value, (str, int, float, list, tuple, dict, bool)) else text

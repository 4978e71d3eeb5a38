"""Convert a one-line-per-user dataset for the benchmark scripts, as the bench converts it (kept while its
source is unchanged: ``prepare.ensure_user_lines_dataset``); a refusal is one line and exit status 2.

    python benchmarks/convert.py ../shared/data/amazon-beauty.txt devdata
"""

import sys

from recbole_disen.errors import UserError
from recbole_disen.prepare import ensure_user_lines_dataset


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python benchmarks/convert.py SOURCE.txt FOLDER\n")
        return 2
    try:
        ensure_user_lines_dataset(*argv)
    except UserError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m recbole_disen.bench ...``: the same command as ``recbole-disen bench ...``."""

import sys

from recbole_disen.bench.command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Train and test DisenSeqRec (or any RecBole model) with RecBole: see README.md."""

import sys

from recbole_disen.cli import main

if __name__ == "__main__":
    sys.exit(main())

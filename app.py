"""`python app.py ...` is the same as the `deferredrev` console script."""

import sys

from deferredrev.app import main

if __name__ == "__main__":
    sys.exit(main())

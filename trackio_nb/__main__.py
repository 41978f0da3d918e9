"""`python -m trackio_nb`: the same as the `trackio-nb` command."""

import sys

from .cli import main

sys.exit(main())

"""``python -m hubapps.cli``: the ``hubapps`` command."""

import sys

from hubapps.cli.entry import main

sys.exit(main())

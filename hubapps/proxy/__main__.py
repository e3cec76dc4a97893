"""``python -I -m hubapps.proxy [options] -- <app argv...>``: how the spawner starts the proxy (isolated)."""

import sys

from hubapps.proxy.main import main

sys.exit(main())

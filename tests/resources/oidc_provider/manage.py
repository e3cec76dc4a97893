"""The test OpenID Connect provider's ``manage.py`` (``migrate``, ``seed_oidc``, ``runserver``).

Run from this folder with ``OIDC_PROVIDER_STATE`` naming a folder that holds ``secret_key`` and
``oidc_rsa.pem`` (the database is written there too); ``tests/browser/test_oauth_login.py`` does that.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oidc_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

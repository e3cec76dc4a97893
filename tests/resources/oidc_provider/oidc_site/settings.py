"""Settings of the test OpenID Connect provider: django-oauth-toolkit with OIDC on, on loopback.

A real provider, not a fake: Django's login form and sessions, django-oauth-toolkit's authorization
(consent page, PKCE required, RS256-signed ID tokens) and userinfo endpoints. The only addition is the
``groups`` claim (:mod:`oidc_site.claims`). Test only: no TLS, a fast password hasher, everything in
``OIDC_PROVIDER_STATE`` (a temporary folder of the test run).
"""

import os
from pathlib import Path

STATE = Path(os.environ["OIDC_PROVIDER_STATE"])

SECRET_KEY = (STATE / "secret_key").read_text()
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "oidc_site",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "oidc_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": STATE / "provider.sqlite3",
        # A throw-away database: no fsync (migrate writes it in a few hundred small transactions).
        "OPTIONS": {"init_command": "PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY;"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
LOGIN_URL = "/accounts/login/"

# The Hub runs on 127.0.0.1 too (another port): cookies are not kept apart by port, so the provider's
# have names of their own.
SESSION_COOKIE_NAME = "oidc_provider_session"
CSRF_COOKIE_NAME = "oidc_provider_csrftoken"

# Passwords and the hashed client secret: Django's default hasher takes most of a second per hash on
# a small machine; the tests do not test it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (STATE / "oidc_rsa.pem").read_text(),
    "OAUTH2_VALIDATOR_CLASS": "oidc_site.claims.GroupsClaimValidator",
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "Your user name",
        "email": "Your email address",
        "groups": "The groups you belong to",
    },
    "DEFAULT_SCOPES": ["openid"],
}

"""``manage.py seed_oidc SPEC.json``: the provider's users (with passwords and groups) and the Hub's
OAuth client, from a JSON file::

    {"users": [{"username": "...", "password": "...", "email": "...", "groups": ["..."]}],
     "client": {"name": "...", "client_id": "...", "client_secret": "...", "redirect_uri": "..."}}

Running it again updates what it created.
"""

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from oauth2_provider.models import Application


class Command(BaseCommand):  # type: ignore[misc]  # Django is untyped
    help = "Create the test users, their groups and the Hub's OAuth client from a JSON file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("spec", type=Path)

    def handle(self, *args: Any, spec: Path, **options: Any) -> None:
        data = json.loads(spec.read_text())
        for entry in data["users"]:
            user, _ = User.objects.get_or_create(username=entry["username"])
            user.email = entry["email"]
            user.set_password(entry["password"])
            user.save()
            user.groups.set([Group.objects.get_or_create(name=name)[0] for name in entry["groups"]])
        client = data["client"]
        app, _ = Application.objects.get_or_create(client_id=client["client_id"])
        app.name = client["name"]
        app.client_secret = client["client_secret"]  # hashed on save
        app.client_type = Application.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        app.redirect_uris = client["redirect_uri"]
        app.algorithm = Application.RS256_ALGORITHM  # signed ID tokens
        app.skip_authorization = False  # people see the consent page, as with most providers
        app.save()
        self.stdout.write(f"{len(data['users'])} users, client {app.client_id}")

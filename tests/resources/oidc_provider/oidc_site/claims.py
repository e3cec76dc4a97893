"""The claims the provider gives about a user: ``preferred_username`` and ``email`` (the standard
``profile`` and ``email`` scopes), and ``groups`` (the names of the user's Django groups) for the
``groups`` scope, as Keycloak, Okta and Authentik give them."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class GroupsClaimValidator(OAuth2Validator):  # type: ignore[misc]  # django-oauth-toolkit is untyped
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "preferred_username": user.get_username(),
            "email": user.email,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

"""What one installation allows, on top of the spec's own rules: checked by the Hub and the service alike.

The spawner mixin (authoritative, on every start) and the launcher service (so users get the message next
to the field when they save, not as a failed start) both call :meth:`SpecPolicy.check`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from hubapps.core.command import check_fits
from hubapps.core.errors import SpecError
from hubapps.core.frameworks import Framework, FrameworkRegistry
from hubapps.core.spec import AppSpec

__all__ = ["SpecPolicy"]


@dataclass(frozen=True)
class SpecPolicy:
    """The admin's choices a spec must respect.

    ``frameworks`` holds the enabled frameworks only. ``profiles`` is ``None`` when the names are not known
    here (a callable KubeSpawner ``profile_list``, which KubeSpawner checks itself at start);
    ``environments`` likewise (a callable ``conda_envs``: the name must then be an environment where the
    app runs, or its start fails).
    """

    frameworks: FrameworkRegistry
    allow_public: bool = True
    environments: Collection[str] | None = ()
    profiles: Collection[str] | None = ()

    def check(self, spec: AppSpec) -> Framework:
        """Return the spec's framework, or raise :class:`SpecError` naming the field that breaks a rule."""
        framework = self.frameworks.get(spec.framework)
        if spec.public and not self.allow_public:
            raise SpecError("public", "public apps are turned off on this Hub")
        if spec.python_env and self.environments is not None and spec.python_env not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            raise SpecError("python_env", f"unknown environment {spec.python_env!r} (available: {known})")
        if spec.profile and self.profiles is not None and spec.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise SpecError("profile", f"unknown spawner profile {spec.profile!r} (available: {known})")
        check_fits(spec, framework)
        return framework

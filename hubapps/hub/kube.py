"""Under KubeSpawner, a server's secrets go to a Kubernetes Secret, not into the pod's spec.

KubeSpawner (7.x) writes every value of ``get_env()`` into the pod manifest as a plain ``env`` entry: whoever
may read pods in the namespace (``kubectl get pod -o yaml``, the ``view`` role, the API server's audit log)
would read the server's Hub API token, the app's decrypted secret values, its status key and its
repository token. With hubapps these values go into a Secret of their own, named after the pod
(``<pod>-hubapps-env``), and the pod's env refers to it (``valueFrom.secretKeyRef``). KubeSpawner keeps its
internal-SSL keys in a Secret the same way. The Secret is created just before the pod (a pod whose Secret is
missing does not start) and deleted when the server stops. Zero to JupyterHub's hub role may already
create and delete Secrets.

Nothing here imports KubeSpawner or the Kubernetes client until a Kube spawner uses it: the Hub side runs
without them on every other spawner.
"""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

from jupyterhub.utils import exponential_backoff

from hubapps.core.gitproject import GIT_AUTH_ENV_VAR
from hubapps.core.proxy_env import APP_ENV_VAR
from hubapps.core.statuskey import APP_KEY_ENV_VAR

__all__ = ["SECRET_ENV_NAMES", "KubeSecretEnvMixin", "is_kube_spawner"]

#: Variables that hold a credential: the server's Hub token (both names), the app's env (with its
#: decrypted secret values), its status key and its repository token.
SECRET_ENV_NAMES = frozenset({"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", APP_ENV_VAR, APP_KEY_ENV_VAR, GIT_AUTH_ENV_VAR})


def is_kube_spawner(spawner_class: type) -> bool:
    """Whether ``spawner_class`` is KubeSpawner or a subclass of it (without importing kubespawner)."""
    return any(cls.__module__.split(".")[0] == "kubespawner" for cls in spawner_class.__mro__)


class KubeSecretEnvMixin:
    """Mixed in before :class:`~hubapps.hub.spawner.HubAppsSpawnerMixin` when the base is a KubeSpawner."""

    #: The values of this start's Secret (set by ``get_env``, which ``get_pod_manifest`` calls).
    _hubapps_secret_data: dict[str, str] | None = None

    @property
    def hubapps_env_secret_name(self) -> str:
        """The Secret of this server's credentials: its pod's name (a DNS label, ≤ 63) + ``-hubapps-env``."""
        return f"{self.pod_name}-hubapps-env"  # type: ignore[attr-defined]

    def _hubapps_secret_env_names(self) -> frozenset[str]:
        # A JupyterLab app's secret values are plain variables of its environment, by their own names.
        spec_secrets: frozenset[str] = getattr(self, "_hubapps_plain_secret_names", frozenset())
        return SECRET_ENV_NAMES | spec_secrets

    def get_env(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_env()  # type: ignore[misc]
        secret_name = self.hubapps_env_secret_name
        names = self._hubapps_secret_env_names()
        data: dict[str, str] = {}
        for key, value in env.items():
            if key in names and isinstance(value, str):
                data[key] = value
                env[key] = {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
        self._hubapps_secret_data = data
        return env

    def get_env_secret_manifest(self) -> Any:
        """The Secret the pod's env refers to (a ``kubernetes_asyncio`` model), or None when it has none.

        Call after ``get_pod_manifest`` (which calls ``get_env``): it holds the values of that manifest.
        """
        if not self._hubapps_secret_data:
            return None
        from kubernetes_asyncio.client.models import V1ObjectMeta, V1Secret

        spawner: Any = self
        return V1Secret(
            api_version="v1",
            kind="Secret",
            type="Opaque",
            metadata=V1ObjectMeta(
                name=self.hubapps_env_secret_name,
                labels=spawner._build_common_labels(spawner._expand_all(spawner.extra_labels)),
                annotations=spawner._build_common_annotations(spawner._expand_all(spawner.extra_annotations)),
            ),
            data={
                key: base64.b64encode(value.encode("utf-8")).decode("ascii")
                for key, value in sorted(self._hubapps_secret_data.items())
            },
        )

    async def _make_create_pod_request(self, pod: Any, request_timeout: float) -> bool:
        """Create the env Secret (afresh: an old one may hold a revoked token), then the pod.

        KubeSpawner calls this with retries until it answers True; False here retries the whole step.
        """
        spawner: Any = self
        secret = self.get_env_secret_manifest()
        if secret is not None:
            if not await spawner._ensure_not_exists("secret", secret.metadata.name):
                return False
            if not await spawner._make_create_resource_request("secret", secret):
                return False
        created: bool = await super()._make_create_pod_request(pod, request_timeout)  # type: ignore[misc]
        return created

    async def stop(self, now: bool = False) -> None:
        """Stop the pod, then delete its env Secret."""
        await super().stop(now=now)  # type: ignore[misc]
        spawner: Any = self
        name = self.hubapps_env_secret_name
        await exponential_backoff(
            partial(spawner._ensure_not_exists, "secret", name),
            f"Could not delete secret {name}",
            timeout=spawner.k8s_api_request_retry_timeout,
        )

"""Apps under batchspawner (Slurm, PBS, LSF, ...): what the spawner mixin adds for batch spawners.

batchspawner submits a job script (a Jinja template) whose ``{{cmd}}`` is the server's command, and
learns the server's address from the queue (the execution host) and from the server itself (the
port: ``batchspawner-singleuser`` picks a free one and ``POST``\\ s it to the Hub's
``/hub/api/batchspawner``, an API handler that ``import batchspawner`` adds to the Hub). For apps,
:class:`BatchSpawnerAppsMixin` changes three things:

- ``hubapps-proxy`` runs without the ``batchspawner-singleuser`` wrapper (which can only run a Python
  script found on ``PATH``, not ``python -I -m hubapps.proxy``): it listens on the port the Hub asks for,
  port 0 under batchspawner, so a free one, and tells the Hub which one itself (``--announce-port``);
- the command is quoted for the shell of the job script (batchspawner joins it with spaces, so an app
  argument with a space, a quote or ``$`` would be split or expanded), and, without ``srun``, ``exec``\\ ed:
  the job script's shell then becomes the proxy, and no process of the owner's keeps the server's Hub
  token in its environment (see ``docs/hpc.md``);
- an app's options never become variables of the job script's template (batchspawner puts every
  ``user_options`` key there, where one named like a template variable would replace it).

JupyterLab apps keep the wrapper (``jupyterhub-singleuser`` is such a script), quoted the same way.
Plain servers (not apps) are left entirely to batchspawner.
"""

from __future__ import annotations

import shlex
from typing import Any

__all__ = ["BatchSpawnerAppsMixin", "is_batch_spawner"]


def is_batch_spawner(cls: type) -> bool:
    """Whether ``cls`` is one of batchspawner's spawners (found by its API, without importing batchspawner)."""
    traits = getattr(cls, "class_traits", None)
    return callable(traits) and "batchspawner_singleuser_cmd" in traits() and hasattr(cls, "cmd_formatted_for_batch")


class BatchSpawnerAppsMixin:
    """Put before :class:`~hubapps.hub.spawner.HubAppsSpawnerMixin` (whose hooks it fills in), and both
    before a batchspawner class: :func:`~hubapps.hub.spawner.make_spawner_class` does."""

    # Set by HubAppsSpawnerMixin for the start in progress (None: not an app).
    _hubapps_args: list[str] | None
    _hubapps_env_for_proxy: bool

    def _hubapps_extra_proxy_options(self) -> list[str]:
        """The proxy tells the Hub its port (batchspawner waits for it)."""
        return ["--announce-port"]

    def cmd_formatted_for_batch(self) -> str:
        """The line that runs the server in the job script (``{{cmd}}``)."""
        if self._hubapps_args is None:
            return str(super().cmd_formatted_for_batch())  # type: ignore[misc]
        spawner: Any = self
        command = [*spawner.cmd, *spawner.get_args()]
        if not self._hubapps_env_for_proxy:
            wrapper = str(spawner.batchspawner_singleuser_cmd)
            return shlex.join([*shlex.split(wrapper), *command])
        line = shlex.join(command)
        # With srun the line follows `srun ` in the template: exec would not be a command there.
        return line if getattr(spawner, "req_srun", "") else "exec " + line

    async def _get_batch_script(self, **subvars: Any) -> str:
        if self._hubapps_args is not None:
            spawner: Any = self
            subvars = {**spawner.get_req_subvars(), "cmd": self.cmd_formatted_for_batch()}
        return str(await super()._get_batch_script(**subvars))  # type: ignore[misc]

"""Stand-in for the ``z2jh`` module of the Zero to JupyterHub hub image, for upstream's Kubernetes configs.

Reads the chart's values from the YAML file named by ``HUBAPPS_TEST_Z2JH_VALUES`` (the real module
reads the values Helm mounted), with ``custom.external-url`` rewritten to the test Hub's public URL
(on ``HUBAPPS_TEST_PROXY_PORT``): the one address in them that the configs use.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import yaml


@functools.cache
def _values() -> dict[str, Any]:
    with open(os.environ["HUBAPPS_TEST_Z2JH_VALUES"]) as file:
        values: dict[str, Any] = yaml.safe_load(file)
    values.setdefault("custom", {})["external-url"] = f"http://127.0.0.1:{os.environ['HUBAPPS_TEST_PROXY_PORT']}"
    return values


def get_config(key: str, default: Any = None) -> Any:
    """The value at ``key`` ("a.b.c") of the chart's values, as z2jh.get_config answers."""
    value: Any = _values()
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def set_config_if_not_none(cparent: Any, name: str, key: str) -> None:
    value = get_config(key)
    if value is not None:
        setattr(cparent, name, value)


def get_name(name: str) -> str:
    return name


def get_name_env(name: str, suffix: str = "") -> str:
    return (name + suffix).upper().replace("-", "_")


def get_secret_value(key: str, default: str = "never-set") -> str:
    return default

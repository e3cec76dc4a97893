"""The generated configuration reference is kept true to the code."""

from __future__ import annotations

from pathlib import Path

from hubapps.cli.reference import config_reference
from hubapps.hub.config import HubApps

DOCS = Path(__file__).parents[2] / "docs"


def test_configuration_reference_is_up_to_date() -> None:
    written = (DOCS / "configuration.md").read_text()
    assert written.strip() == config_reference().strip(), "run `make docs` to regenerate docs/configuration.md"


def test_every_setting_has_help() -> None:
    for name, trait in HubApps.class_traits(config=True).items():
        assert len(trait.help or "") > 20, f"c.HubApps.{name} needs a help text"

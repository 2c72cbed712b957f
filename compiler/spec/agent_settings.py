"""ECS agent settings of a spec (`service.ec2_agent_config`, EC2 launch type only), as data.

What the renderer writes (`compiler/build/render/agent_config.py`), what the script records on each
container instance (the attribute `shipspec.ecs-agent-config`), and what `shipspec doctor`
compares instances with: one definition of the settings, their order and their recorded form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .models import Ec2AgentConfig, ServiceConfig

ATTRIBUTE = "shipspec.ecs-agent-config"
RECORD_VERSION = "v1"

# (model field, agent variable), in the order of the file and of the recorded value
SETTINGS: tuple[tuple[str, str], ...] = (
    ("task_cleanup_wait", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION"),
    ("image_cleanup_interval", "ECS_IMAGE_CLEANUP_INTERVAL"),
    ("image_minimum_cleanup_age", "ECS_IMAGE_MINIMUM_CLEANUP_AGE"),
    ("num_images_delete_per_cycle", "ECS_NUM_IMAGES_DELETE_PER_CYCLE"),
    ("disable_image_cleanup", "ECS_DISABLE_IMAGE_CLEANUP"),
)


def applies(c: "ServiceConfig") -> bool:
    return c.service.launch_type == "EC2"


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def agent_settings(cfg: "Ec2AgentConfig") -> tuple[tuple[str, str], ...]:
    """(variable, value) pairs, in a fixed order."""
    return tuple((var, _text(getattr(cfg, field))) for field, var in SETTINGS)


def target_tag(c: "ServiceConfig") -> tuple[str, str]:
    cfg = c.service.ec2_agent_config
    return cfg.instance_tag_key, cfg.instance_tag_value or c.service.cluster


def recorded_value(cfg: "Ec2AgentConfig") -> str:
    """The attribute value the script records: `v1/<value>/<value>/...` in SETTINGS order
    (ECS attribute values allow letters, digits and `/`, not `=`)."""
    return "/".join([RECORD_VERSION, *(value for _, value in agent_settings(cfg))])


def parse_recorded(value: str) -> Optional[dict[str, str]]:
    """variable -> value from a recorded attribute; None if it is not in a known format."""
    parts = value.split("/")
    if len(parts) != len(SETTINGS) + 1 or parts[0] != RECORD_VERSION:
        return None
    return {var: v for (_, var), v in zip(SETTINGS, parts[1:])}


_ASSIGNMENT = re.compile(r"^([A-Z0-9_]+)=(.*)$")


def parse_config_text(text: str) -> dict[str, str]:
    """KEY=value lines of an ecs.config-style file (last one wins), comments and blanks skipped."""
    out = {}
    for line in text.splitlines():
        m = _ASSIGNMENT.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out

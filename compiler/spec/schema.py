"""The published JSON Schema of a spec file, generated from the models (never hand-edited)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from .models import ENV_RE, NAME_RE, SECTION_MODELS, AccountId, Region, ServiceConfig, TagMap

SCHEMA_PATH = "schema/service.schema.json"
SCHEMA_ID = "https://shipspec.dev/schema/service.schema.json"
FILE_FIELDS = ("version", "name", "description", "tags")


def _partial(model: type[BaseModel]) -> type[BaseModel]:
    """The same model with every field optional: what an environment may override."""
    fields: dict[str, Any] = {}
    for name, f in model.model_fields.items():
        annotation = Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation  # keep bounds
        fields[name] = (Optional[annotation], Field(default=None, description=f.description))
    return create_model(f"{model.__name__}Override", __config__=ConfigDict(extra="forbid"),
                        __doc__=model.__doc__, **fields)


@lru_cache(maxsize=1)
def file_model() -> type[BaseModel]:
    """What a file under services/ may contain. Sections are optional here because
    services/_defaults.yaml may provide them; the merged result is validated in full."""
    sections = {k: _partial(m) for k, m in SECTION_MODELS.items()}
    env_fields: dict[str, Any] = {
        "account": (Optional[AccountId], Field(default=None, description="12-digit AWS account id, quoted.")),
        "region": (Optional[Region], Field(default=None, description="AWS region code, e.g. ap-northeast-1.")),
        "description": (Optional[str], Field(default=None, description="Overrides the description.")),
        "tags": (Optional[TagMap], Field(default=None, description="Tags merged over the service's tags.")),
    }
    for key, m in sections.items():
        env_fields[key] = (Optional[m], Field(default=None, description=f"Overrides of `{key}` for this environment."))
    stages = ServiceConfig.model_fields["stages"]
    env_fields["stages"] = (Optional[stages.annotation], Field(default=None, description=stages.description))
    env_model = create_model("EnvironmentSpec", __config__=ConfigDict(extra="forbid"),
                             __doc__="One environment: where it lives and what it overrides.", **env_fields)
    top: dict[str, Any] = {}
    for name in FILE_FIELDS:
        f = ServiceConfig.model_fields[name]
        default = None if name == "name" else f.get_default(call_default_factory=True)
        top[name] = (Optional[f.annotation] if name == "name" else f.annotation,
                     Field(default=default, description=f.description))
    for key, m in SECTION_MODELS.items():
        top[key] = (Optional[sections[key]], Field(default=None, description=m.__doc__))
    top["stages"] = (Optional[stages.annotation], Field(default=None, description=stages.description))
    top["environments"] = (
        Optional[dict[str, env_model]],  # type: ignore[valid-type]
        Field(default=None, description=f"Environments, by name ({ENV_RE}); at least one, here or in _defaults.yaml."),
    )
    return create_model("ServiceSpec", __config__=ConfigDict(extra="forbid"),
                        __doc__="A shipspec service spec (services/<name>.yaml) or services/_defaults.yaml.", **top)


def service_schema() -> dict:
    schema = file_model().model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    env_prop = schema["properties"]["environments"]
    for option in env_prop.get("anyOf", [env_prop]):
        if option.get("type") == "object":
            option["propertyNames"] = {"pattern": ENV_RE}
    name_prop = schema["properties"]["name"]
    for option in name_prop.get("anyOf", [name_prop]):
        if option.get("type") == "string":
            option["pattern"] = NAME_RE
    return schema


def schema_bytes() -> bytes:
    return (json.dumps(service_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

"""The emulator keeps the pipeline resources stacks declare: `AWS::CodePipeline::Pipeline`,
`AWS::CodeBuild::Project` and `AWS::CodePipeline::Webhook`, types moto's CloudFormation skips.
`install()` registers them as CloudFormation models in the emulator's process (emuserver calls it; tests
running moto in-process call it too). This module imports moto: only the emulator process loads it.

The mapping (what a stack's template becomes, and where it is kept):

| template resource | kept in | read back with |
|---|---|---|
| `AWS::CodePipeline::Pipeline` | moto's CodePipeline backend (CreatePipeline / UpdatePipeline: the role must trust codepipeline.amazonaws.com, at least two stages) | `get-pipeline`, `list-pipelines`, `list-tags-for-resource`; `Ref` = name, `GetAtt Version` |
| `AWS::CodeBuild::Project` | moto's CodeBuild backend (CreateProject; an update replaces the project's fields, keeping its ARN and creation date) | `batch-get-projects`, `list-projects`; `Ref` = name, `GetAtt Arn` |
| `AWS::CodePipeline::Webhook` | the emulator, beside moto's CodePipeline backend (moto has no webhooks) | `list-webhooks`; `Ref` = name, `GetAtt Url` |

Properties become the API's shapes as CloudFormation does it: each template key is the API member of the
same name (compared without case: `BuildSpec` is `buildspec`, `SecretToken` stays `SecretToken`),
read from botocore's service model; map values (an action's `Configuration`) keep their keys; booleans
and numbers given as text become the shape's type, and configuration values become text, as
`get-pipeline` shows them (`DetectChanges: false` -> `"false"`). Template keys the API has no member
for (`RestartExecutionOnUpdate`, `DisableInboundStageTransitions`, `Tags`, a project's webhook
`Triggers`) are not kept, except Tags, which become the resource's tags. A pipeline's Triggers (V2
pipelines: the push filters) are part of its declaration and kept. As on AWS, `get-pipeline` shows a
GitHub version 1 action's `OAuthToken` as `****`.

Deleting a stack deletes these resources unless their DeletionPolicy is Retain (moto's rule for every
type it models); a resource imported by name (compiler/local/cfn_import.py) is the same model, bound to the
existing pipeline.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

PATCHED = "_shipspec_pipeline_resources"
MASKED = "****"
SECRET_CONFIGURATION = ("OAuthToken",)  # shown masked by get-pipeline
# The resource types moto's CloudFormation skips and the emulator models (light: the command line's
# compiler/local/emulator.py reads it without loading moto).
EMULATED_TYPES = ("AWS::CodeBuild::Project", "AWS::CodePipeline::Pipeline", "AWS::CodePipeline::Webhook")


@lru_cache(maxsize=None)
def _shape(service: str, name: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    if name.startswith("op:"):
        return model.operation_model(name[3:]).input_shape
    return model.shape_for(name)


def to_api(value: Any, shape: Any) -> Any:
    """A template value as the API shape `shape` has it (see the module's notes)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        members = {m.lower(): m for m in shape.members}
        out = {}
        for key, item in value.items():
            member = members.get(str(key).lower())
            if member is not None and item is not None:
                out[member] = to_api(item, shape.members[member])
        return out
    if kind == "list":
        return [to_api(v, shape.member) for v in value] if isinstance(value, list) else value
    if kind == "map":
        return {str(k): to_api(v, shape.value) for k, v in value.items()} if isinstance(value, dict) else value
    if kind == "boolean":
        return value.strip().lower() == "true" if isinstance(value, str) else bool(value)
    if kind in ("integer", "long"):
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else value
    return value


def _tags(props: dict) -> list[dict[str, str]]:
    return [{"key": str(t.get("Key")), "value": str(t.get("Value", ""))} for t in props.get("Tags") or []
            if isinstance(t, dict) and t.get("Key")]


def pipeline_declaration(name: str, props: dict) -> dict:
    decl = to_api({k: v for k, v in props.items() if k != "Name"}, _shape("codepipeline", "PipelineDeclaration"))
    decl["name"] = name
    decl.setdefault("stages", [])
    return decl


def masked(decl: dict) -> dict:
    """The declaration as get-pipeline shows it: secret configuration values as ****."""
    stages = []
    for stage in decl.get("stages") or []:
        actions = []
        for action in stage.get("actions") or []:
            config = action.get("configuration") or {}
            if any(k in config for k in SECRET_CONFIGURATION):
                action = {**action, "configuration": {k: MASKED if k in SECRET_CONFIGURATION else v
                                                      for k, v in config.items()}}
            actions.append(action)
        stages.append({**stage, "actions": actions})
    return {**decl, "stages": stages}


def _pipeline_backend(account: str, region: str) -> Any:
    from moto.codepipeline.models import codepipeline_backends

    return codepipeline_backends[account][region]


def _codebuild_backend(account: str, region: str) -> Any:
    from moto.codebuild.models import codebuild_backends

    return codebuild_backends[account][region]


def webhooks(account: str, region: str) -> dict[str, dict]:
    """The webhooks kept for an account and region: name -> ListWebhooks item."""
    backend = _pipeline_backend(account, region)
    if not hasattr(backend, "_shipspec_webhooks"):
        backend._shipspec_webhooks = {}
    return backend._shipspec_webhooks


def _models() -> tuple[type, ...]:
    """The model classes (defined on first use: they subclass moto's CloudFormationModel)."""
    global _MODELS
    if _MODELS:
        return _MODELS
    from moto.core.common_models import CloudFormationModel
    from moto.core.utils import unix_time

    class _Kept:  # a mixin: moto finds models among CloudFormationModel's direct subclasses
        attributes: tuple[str, ...] = ()

        def __init__(self, name: str, account: str, region: str) -> None:
            self.name, self.account, self.region = name, account, region

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in cls.attributes

        def is_created(self) -> bool:
            return True

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            obj = cls(resource_name, account_id, region_name)
            obj.checked_put(cloudformation_json.get("Properties") or {}, create=True)
            return obj

        def checked_put(self, props: dict, create: bool) -> None:
            """`put`, with the service's refusal as CloudFormation's error (moto answers a failed
            resource with an error of the stack call)."""
            from moto.cloudformation.exceptions import ValidationError
            from moto.core.exceptions import JsonRESTError

            try:
                self.put(props, create)
            except JsonRESTError as exc:
                raise ValidationError(message=f"{self.name} ({self.cloudformation_type()}): {exc.message}") \
                    from None

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                            account_id, region_name):
            props = cloudformation_json.get("Properties") or {}
            if new_resource_name != original_resource.name:  # Name is create-only: a replacement
                new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id,
                                                          region_name)
                original_resource.delete(account_id, region_name)
                return new
            original_resource.checked_put(props, create=False)
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            cls(resource_name, account_id, region_name).delete(account_id, region_name)

        def put(self, props: dict, create: bool) -> None:
            raise NotImplementedError

        def delete(self, account_id: str, region_name: str) -> None:
            raise NotImplementedError

    class Pipeline(_Kept, CloudFormationModel):
        attributes = ("Version",)

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CodePipeline::Pipeline"

        def put(self, props: dict, create: bool) -> None:
            backend = _pipeline_backend(self.account, self.region)
            decl = pipeline_declaration(self.name, props)
            if create:
                backend.create_pipeline(decl, _tags(props) or None)
            else:
                backend.update_pipeline(decl)
                kept = backend.pipelines[self.name]
                kept.tags = {t["key"]: t["value"] for t in _tags(props)}

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            if attribute_name == "Version":
                return str(_pipeline_backend(self.account, self.region).pipelines[self.name].pipeline["version"])
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()

        def delete(self, account_id: str, region_name: str) -> None:
            _pipeline_backend(self.account, self.region).delete_pipeline(self.name)

    class Project(_Kept, CloudFormationModel):
        attributes = ("Arn",)

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CodeBuild::Project"

        def put(self, props: dict, create: bool) -> None:
            backend = _codebuild_backend(self.account, self.region)
            fields = to_api({k: v for k, v in props.items() if k not in ("Name", "Tags")},
                            _shape("codebuild", "op:CreateProject"))
            existing = backend.codebuild_projects.get(self.name)
            if existing is None:
                backend.create_project(self.name, fields.get("description"), fields.get("source") or {},
                                       fields.get("artifacts") or {}, fields.get("environment") or {},
                                       str(fields.get("serviceRole") or ""), _tags(props), fields.get("cache"),
                                       fields.get("timeoutInMinutes"), fields.get("queuedTimeoutInMinutes"),
                                       fields.get("sourceVersion"), fields.get("logsConfig"), fields.get("vpcConfig"))
                existing = backend.codebuild_projects[self.name]
            meta = existing.project_metadata
            keep = {k: meta[k] for k in ("name", "arn", "created", "badge", "encryptionKey") if k in meta}
            meta.clear()
            meta.update(keep)
            meta.update(fields)
            meta["tags"] = _tags(props)
            meta["lastModifiedDate"] = unix_time()
            existing.service_role = fields.get("serviceRole", existing.service_role)

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            if attribute_name == "Arn":
                return _codebuild_backend(self.account, self.region).codebuild_projects[self.name].arn
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()

        def delete(self, account_id: str, region_name: str) -> None:
            backend = _codebuild_backend(self.account, self.region)
            if self.name in backend.codebuild_projects:
                backend.delete_project(self.name)

    class Webhook(_Kept, CloudFormationModel):
        attributes = ("Url",)

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CodePipeline::Webhook"

        def url(self) -> str:
            return f"https://{self.region}.webhooks.aws/trigger?t=emulated-{self.name}"

        def put(self, props: dict, create: bool) -> None:
            definition = to_api({k: v for k, v in props.items() if k != "Name"},
                                _shape("codepipeline", "WebhookDefinition"))
            definition["name"] = self.name
            webhooks(self.account, self.region)[self.name] = {
                "definition": definition, "url": self.url(),
                "arn": f"arn:aws:codepipeline:{self.region}:{self.account}:webhook:{self.name}",
                "tags": _tags(props)}

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            if attribute_name == "Url":
                return self.url()
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()

        def delete(self, account_id: str, region_name: str) -> None:
            webhooks(self.account, self.region).pop(self.name, None)

    _MODELS = (Pipeline, Project, Webhook)
    return _MODELS


_MODELS: tuple[type, ...] = ()


def model_for(resource_type: str) -> type | None:
    return next((m for m in _models() if m.cloudformation_type() == resource_type), None)


def existing(resource_type: str, name: str, account: str, region: str) -> Any:
    """The model of an existing pipeline or project of this name (for import by name), or None."""
    model = model_for(resource_type)
    if model is None:
        return None
    if resource_type == "AWS::CodePipeline::Pipeline" and name not in _pipeline_backend(account, region).pipelines:
        return None
    if resource_type == "AWS::CodeBuild::Project" and name not in _codebuild_backend(account, region).codebuild_projects:
        return None
    if resource_type == "AWS::CodePipeline::Webhook" and name not in webhooks(account, region):
        return None
    return model(name, account, region)


def install() -> None:
    """Register the models with moto's CloudFormation and mask secrets in get-pipeline (idempotent)."""
    from moto.cloudformation import parsing
    from moto.codepipeline.responses import CodePipelineResponse

    models = _models()
    assert {m.cloudformation_type() for m in models} == set(EMULATED_TYPES)
    if getattr(parsing, PATCHED, False):
        return
    setattr(parsing, PATCHED, True)
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()

    import json

    def get_pipeline(self) -> str:
        pipeline, metadata = self.codepipeline_backend.get_pipeline(self._get_param("name"))
        return json.dumps({"pipeline": masked(pipeline), "metadata": metadata})

    CodePipelineResponse.get_pipeline = get_pipeline

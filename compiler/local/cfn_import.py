"""Resource import on the local emulator: what `shipspec adopt` needs and moto's CloudFormation lacks.
`install()` patches moto in the emulator's process (emuserver.main calls it; tests running moto in-process
call it too). This module imports moto: only the emulator process loads it.

What is modelled, and why:

- **`ImportExistingResources` on a CREATE or UPDATE change set** (moto ignores the parameter and
  would try to create, or fail on, resources that exist). A resource of the template is imported when,
  as on AWS, its DeletionPolicy is Retain or RetainExceptOnCreate, its type can be imported by name
  (compiler/adopt/importable.py, from the resource provider schemas), the template names it with a plain
  string, it exists, and no other stack holds it. The change set lists it with Action `Import`;
  executing it binds the existing resource to the logical id (nothing is created): the very object the
  emulator keeps -- moto's for the types it models (ECR repositories, IAM roles, log groups, Lambda
  functions), the emulator's pipeline model for a CodePipeline pipeline (compiler/local/pipeline_resources.py,
  the one model of pipelines, CodeBuild projects and webhooks), so the stack lists it, a later update
  of the stack updates it, and deleting the stack deletes it unless it is retained.
- **Retained deletion** needs nothing here: deleting a stack deletes each resource moto or the emulator
  models unless its DeletionPolicy is Retain -- pipelines and CodeBuild projects included, since the
  emulator creates them from templates (pipeline_resources).
- **Executing a CREATE change set** resolves `Fn::ImportValue` against the account's exports (moto's
  stack made for a CREATE change set has none to look in).

Not modelled: ChangeSetType IMPORT with ResourcesToImport (adopt imports by name), import of a
resource held by another stack (it is simply not imported, as AWS skips it), drift after import.
"""

from __future__ import annotations

import threading
from typing import Any

PATCHED = "_shipspec_import_model"
RETAIN = ("Retain", "RetainExceptOnCreate")
_request = threading.local()


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def find(resource_type: str, name: str, account: str, region: str) -> Any:
    """The existing resource of this type and name in moto's service backends, or None."""
    try:
        if resource_type == "AWS::ECR::Repository":
            from moto.ecr.models import ecr_backends

            return ecr_backends[account][region].repositories.get(name)
        if resource_type == "AWS::IAM::Role":
            from moto.iam.models import iam_backends

            return next((r for r in iam_backends[account][_partition(region)].roles.values() if r.name == name), None)
        if resource_type == "AWS::Logs::LogGroup":
            from moto.logs.models import logs_backends

            return logs_backends[account][region].groups.get(name)
        if resource_type == "AWS::Lambda::Function":
            from moto.awslambda.models import lambda_backends

            return lambda_backends[account][region].get_function(name)
        if resource_type == "AWS::CodePipeline::Pipeline":
            from .pipeline_resources import existing

            return existing(resource_type, name, account, region)
    except Exception:  # a backend moto fails to look in: treated as not existing
        return None
    return None


def _held(backend: Any, resource_type: str, name: str, found: Any, but: Any) -> bool:
    """Whether a stack other than `but` holds this resource."""
    for stack in backend.stacks.values():
        if stack is but or stack.status == "DELETE_COMPLETE":
            continue
        rmap = stack.resource_map
        for lid, res in (rmap._resource_json_map or {}).items():
            if not isinstance(res, dict) or res.get("Type") != resource_type:
                continue
            parsed = rmap._parsed_resources.get(lid)
            if parsed is not None and (parsed is found or getattr(parsed, "physical_resource_id", None) == name):
                return True
    return False


def imports_of(backend: Any, change_set: Any) -> dict[str, Any]:
    """The resources an ImportExistingResources change set imports: logical id -> existing resource."""
    from ..adopt.importable import static_name

    out = {}
    for lid, res in (change_set.template_dict.get("Resources") or {}).items():
        if not isinstance(res, dict) or res.get("DeletionPolicy") not in RETAIN:
            continue
        name = static_name(res)
        if name is None:
            continue
        found = find(str(res.get("Type")), name, backend.account_id, backend.region_name)
        if found is not None and not _held(backend, str(res["Type"]), name, found, change_set.stack):
            out[lid] = found
    return out


def install() -> None:
    """Patch moto's CloudFormation (idempotent); the emulator's pipeline models come with it."""
    from moto.cloudformation import models, responses

    from .pipeline_resources import install as model_pipeline_resources

    model_pipeline_resources()
    backend_cls = models.CloudFormationBackend
    if getattr(backend_cls, PATCHED, False):
        return
    setattr(backend_cls, PATCHED, True)

    respond = responses.CloudFormationResponse.create_change_set

    def create_change_set_response(self):
        _request.import_existing = self._get_bool_param("ImportExistingResources", False)
        try:
            return respond(self)
        finally:
            _request.import_existing = False

    responses.CloudFormationResponse.create_change_set = create_change_set_response

    create = backend_cls.create_change_set

    def create_change_set(self, *args: Any, **kwargs: Any):
        cs_id, stack_id = create(self, *args, **kwargs)
        cs = self.change_sets[cs_id]
        cs.imports = imports_of(self, cs) if getattr(_request, "import_existing", False) else {}
        for change in cs.changes:
            if change.logical_resource_id in cs.imports:
                change.action = "Import"
        return cs_id, stack_id

    backend_cls.create_change_set = create_change_set

    execute = backend_cls.execute_change_set

    def execute_change_set(self, change_set_name: str, stack_name: str | None = None) -> None:
        cs = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None)
        if cs is not None:
            stack = self.stacks[cs.stack_id]
            rmap = stack.resource_map
            rmap.cross_stack_resources = self.exports  # Fn::ImportValue on a stack made by a CREATE change set
            for lid, found in (getattr(cs, "imports", None) or {}).items():
                found.logical_resource_id = lid
                found.cf_resource_type = cs.template_dict["Resources"][lid]["Type"]
                rmap._parsed_resources[lid] = found
        return execute(self, change_set_name, stack_name)

    backend_cls.execute_change_set = execute_change_set

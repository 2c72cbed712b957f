"""Resource import and retained deletion on the local emulator: what `shipspec adopt` needs and moto's
CloudFormation lacks. `install()` patches moto in the emulator's process (emuserver.main calls it; tests
running moto in-process call it too). This module imports moto: only the emulator process loads it.

What is modelled, and why:

- **`ImportExistingResources` on a CREATE or UPDATE change set** (moto ignores the parameter and
  would try to create, or fail on, resources that exist). A resource of the template is imported when,
  as on AWS, its DeletionPolicy is Retain or RetainExceptOnCreate, its type can be imported by name
  (compiler/adopt/importable.py, from the resource provider schemas), the template names it with a plain
  string, it exists, and no other stack holds it. The change set lists it with Action `Import`;
  executing it binds the existing resource to the logical id (nothing is created) -- for the types moto
  does model (ECR repositories, IAM roles, log groups, Lambda functions) the very object moto keeps,
  for a CodePipeline pipeline (a type moto's CloudFormation does not model) a record of it, so the
  stack lists it and deleting the stack deletes it unless it is retained.
- **Retained deletion of the types moto does not model.** moto cannot create a pipeline or a CodeBuild
  project from a template, so a test creates them through their APIs beside the stack that names them.
  Deleting a stack then deletes, as AWS would, each pipeline and CodeBuild project its template names
  (by its Name) unless the resource's DeletionPolicy is Retain. moto already keeps the resources it
  models when their DeletionPolicy is Retain.
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


class Imported:
    """A resource moto does not model, bound to a stack by import (what the stack lists)."""

    def __init__(self, resource_type: str, name: str, logical_id: str, delete: Any):
        self.cf_resource_type = resource_type
        self.physical_resource_id = name
        self.logical_resource_id = logical_id
        self._delete = delete

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete()

    def is_created(self) -> bool:
        return True


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
            from moto.codepipeline.models import codepipeline_backends

            backend = codepipeline_backends[account][region]
            if name in backend.pipelines:
                return Imported(resource_type, name, "", lambda: backend.delete_pipeline(name))
    except Exception:  # a backend moto fails to look in: treated as not existing
        return None
    return None


def _delete_unmodelled(resource_type: str, name: str, account: str, region: str) -> None:
    if resource_type == "AWS::CodePipeline::Pipeline":
        from moto.codepipeline.models import codepipeline_backends

        codepipeline_backends[account][region].delete_pipeline(name)
    elif resource_type == "AWS::CodeBuild::Project":
        from moto.codebuild.models import codebuild_backends

        backend = codebuild_backends[account][region]
        if name in backend.codebuild_projects:
            backend.delete_project(name)


UNMODELLED_NAMED = {"AWS::CodePipeline::Pipeline": "Name", "AWS::CodeBuild::Project": "Name"}


def _name_in(stack_map: Any, resource_json: dict, prop: str) -> str | None:
    from moto.cloudformation.parsing import clean_json

    try:
        value = clean_json((resource_json.get("Properties") or {}).get(prop), stack_map)
    except Exception:
        return None
    return value if isinstance(value, str) else None


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
            prop = UNMODELLED_NAMED.get(resource_type)
            if prop and _name_in(rmap, res, prop) == name:
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
    """Patch moto's CloudFormation (idempotent)."""
    from moto.cloudformation import models, parsing, responses

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

    delete = parsing.ResourceMap.delete

    def delete_resources(self) -> None:
        for lid, res in list((self._resource_json_map or {}).items()):
            prop = UNMODELLED_NAMED.get(res.get("Type")) if isinstance(res, dict) else None
            if not prop or res.get("DeletionPolicy") == "Retain" or isinstance(self._parsed_resources.get(lid), Imported):
                continue
            name = _name_in(self, res, prop)
            if name:
                _delete_unmodelled(res["Type"], name, self._account_id, self._region_name)
        for lid, res in list((self._resource_json_map or {}).items()):
            if isinstance(self._parsed_resources.get(lid), Imported) and isinstance(res, dict) \
                    and res.get("DeletionPolicy") == "Retain":
                self._parsed_resources.pop(lid)  # retained: the stack lets go of it
        delete(self)

    parsing.ResourceMap.delete = delete_resources

    update_resource = parsing.parse_and_update_resource

    def parse_and_update_resource(logical_id: str, resource_json: dict, resources_map: Any, *args: Any, **kw: Any):
        held = resources_map._parsed_resources.get(logical_id)
        if isinstance(held, Imported):
            return held  # moto cannot update what it does not model: the record stays
        return update_resource(logical_id, resource_json, resources_map, *args, **kw)

    parsing.parse_and_update_resource = parse_and_update_resource

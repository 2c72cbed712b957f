"""Which resources CloudFormation can take into a stack by name, from the resource provider schemas
cfn-lint ships (as compiler/deploy/predict.py reads them for replacements).

A type can be imported when it is provisionable (its schema has handlers); `ImportExistingResources`
finds an existing resource by its single primary identifier, which must be a property the template
sets (not a read-only one). `AWS::CodeBuild::Project` has neither, so a project is never imported:
shipspec creates its own and the old one stays, retained, for a person to delete.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=None)
def import_identifier(resource_type: str, region: str = "us-east-1") -> str | None:
    """The property naming a resource of this type that ImportExistingResources matches, or None when
    CloudFormation cannot import the type by name."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except (ResourceNotFoundError, KeyError):
        return None if region == "us-east-1" else import_identifier(resource_type)
    if not schema.get("handlers"):
        return None
    ids = schema.get("primaryIdentifier") or []
    if len(ids) != 1 or ids[0] in (schema.get("readOnlyProperties") or []):
        return None
    parts = ids[0].strip("/").split("/")
    return parts[1] if len(parts) == 2 and parts[0] == "properties" else None


def static_name(resource: dict) -> str | None:
    """The resource's name as its template writes it, when that is a plain string."""
    prop = import_identifier(str(resource.get("Type", "")))
    value = (resource.get("Properties") or {}).get(prop) if prop else None
    return value if isinstance(value, str) else None


# Types a shipspec template names that CloudFormation cannot import, with the property naming them:
# a resource of that name existing outside the stack makes creating the stack fail.
NAMED_NOT_IMPORTABLE = {"AWS::CodeBuild::Project": "Name"}

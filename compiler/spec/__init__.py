"""Spec: from `services/*.yaml` to validated, frozen models, or every error at `file:line:col`.

YAML with positions (`yamlsrc`), layered merge (`merge`), the pydantic models and the JSON Schema
generated from them (`models`, `schema`), loading a project (`project`), the secret scan and
every spec-level check (`checks`, `stage_checks`, `fleet`), and the names of what shipspec
creates (`naming`). May import: `core`.
"""

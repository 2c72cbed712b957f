"""Adoption: turn existing pipelines into specs (`shipspec import`) and take over their stacks
(`shipspec adopt`).

It reads CloudFormation templates (on disk or deployed) and AWS Copilot workspaces, writes
`services/<name>.yaml` with a report of every mapped field, and drives the change sets that move
a deployed hand-written stack's resources into shipspec's stacks without deleting any of them.
"""

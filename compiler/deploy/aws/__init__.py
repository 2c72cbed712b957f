"""The AWS edge of shipspec: sessions, change sets, execution.

Every module here imports boto3 at module level; nothing that `validate` or `build` imports
may import this package (the commands import it inside `run`).
"""

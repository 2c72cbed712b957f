"""`shipspec lint`: cfn-lint and shipspec's own rules on the generated templates and buildspecs.

Importing this package is light; cfn-lint is imported only by `cfnlint_runner` when linting runs.
"""

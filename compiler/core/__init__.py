"""Core: the facts and values every part of shipspec shares.

Diagnostics (a located message), the errors commands raise, ARN and secret-reference parsing,
the one secret-value detector, CodePipeline's facts (stage order, variables, source outputs),
the least-privilege analysis of one IAM statement, and the byte-exact JSON formatter. Pure and
small. May import: nothing else of `compiler`.
"""

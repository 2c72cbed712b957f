"""shipspec: a declarative GitOps compiler for Amazon ECS delivery pipelines."""

__version__ = "0.1.0"

"""Build: from validated models to the bytes of `generated/` and the stacks to deploy.

The intermediate model (`ir`), pure deterministic renderers (`render/`), the project compiler
(`compile`), the crash-safe writer (`writer`), and the cache that skips unchanged specs
(`cache`, `incremental`, `prerender`). May import: `core`, `spec`.
"""

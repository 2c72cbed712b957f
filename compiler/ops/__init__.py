"""Operating deployed services: `shipspec status` and `shipspec doctor`, the table of known
deployment failures (docs/troubleshooting.md is generated from it), and the ECS agent settings
applied to EC2 container instances.

Pure cores (matching, diagnosis, formatting, rendering) with the AWS reads at the edge: the
gather functions take a client factory (`service name -> boto3 client`) from the caller. Nothing
here imports boto3 at module level.
"""

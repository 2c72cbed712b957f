"""Deploy: what a change will do to AWS, and doing exactly that.

Which pairs a change affects (`affected`, `git`), the offline prediction and change model
(`predict`, `changes`, `stackdiff`), the plan document and the deploy gate (`plan`, `gate`), and
the AWS edge (`aws/`: sessions, change sets, apply, retire) with boto3 clients passed in. May
import: `core`, `spec`, `build`, `lint`.
"""

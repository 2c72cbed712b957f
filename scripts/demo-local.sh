#!/usr/bin/env bash
# The plan/apply loop end to end against a local AWS emulator (moto), on a scratch copy of the
# specs so the repository's services/ is never touched:
#   local up -> bootstrap -> plan (markdown) -> apply -> seed demo ECS services -> status and doctor
#   (a healthy service) -> a pipeline run end to end (`local run`: push -> build -> new revision ->
#   rollout -> notification), and one whose build fails (its FAILED notification) -> status shows the
#   executions -> doctor on a broken service -> change things behind shipspec's back -> drift finds
#   them -> status --all (the fleet on one screen) -> a rollout followed to success and one rolled
#   back with its diagnosis (`local deploy`: the generated UpdateService and Deploy scripts with the
#   AWS CLI) -> status and rollback -> edit a spec (build settings and a container variable) -> plan
#   again (resource changes and a runtime row) -> import a hand-written pipeline (a template of
#   tests/adopt/fixtures/) into a spec, with its report -> local down.
# `shipspec local seed` writes demo data into the emulator only (the emulator runs no containers, so
# the ECS service a pipeline updates is seeded); `shipspec local run` runs the applied pipeline on this
# machine against the emulator.
# Run from the repository root (`make demo` does). Needs shipspec on PATH (or python3 with the
# package installed) and moto[server] (the `dev` or `local` extra).
set -euo pipefail

root="$(pwd)"
if [[ ! -d "$root/services" ]]; then
  echo "demo-local: run me from the repository root (no services/ here)" >&2
  exit 2
fi
if command -v shipspec >/dev/null 2>&1; then
  cli=(shipspec)
else
  cli=(python3 -m compiler)
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/shipspec-demo.XXXXXX")"
cp -R "$root/services" "$scratch/services"

ss() {
  "${cli[@]}" --root "$scratch" "$@"
}

cleanup() {
  local status=$?
  ss local down || true
  rm -rf "$scratch"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
  printf '\n=== %s ===\n' "$*"
}

step "shipspec local up"
ss local up

step "shipspec bootstrap --local --yes"
ss bootstrap --local --yes

step "shipspec plan --local --format markdown"
ss plan --local --format markdown

step "shipspec apply --local --yes"
ss apply --local --yes

step "shipspec local seed news-web --env stg (demo data: a healthy ECS service in the emulator)"
ss local seed news-web --env stg

step "shipspec status news-web --env stg --local"
ss status news-web --env stg --local

step "shipspec doctor news-web --env stg --local (healthy: exit 0)"
ss doctor news-web --env stg --local

step "shipspec local run news-web --env stg (the pipeline as applied, end to end: source -> build -> new revision -> rollout -> notification)"
run_out="$scratch/run-ok.txt"
ss local run news-web --env stg | tee "$run_out"
if ! grep -q '^pipeline news-web-stg, execution .*: Succeeded' "$run_out" || \
   ! grep -q 'SUCCEEDED: news-web-stg pipeline execution' "$run_out"; then
  echo "demo-local: the pipeline run did not succeed and notify" >&2
  exit 1
fi

step "shipspec local run news-web --env stg --source <a commit without its Dockerfile> (the build fails: the run stops at Build and the FAILED notification arrives)"
broken_source="$scratch/news-web-source"
git init -q -b develop "$broken_source"
echo "A change that deleted the Dockerfile" >"$broken_source/README.md"
git -C "$broken_source" add README.md
git -C "$broken_source" -c user.name=demo -c user.email=demo@example.invalid commit -q -m "Delete the Dockerfile"
fail_out="$scratch/run-failed.txt"
if ss local run news-web --env stg --source "$broken_source" | tee "$fail_out"; then
  echo "demo-local: a build without its Dockerfile passed" >&2
  exit 1
fi
if ! grep -q 'FAILED Build/Build' "$fail_out" || ! grep -q 'FAILED: news-web-stg pipeline execution' "$fail_out"; then
  echo "demo-local: the failed build was not reported and notified" >&2
  exit 1
fi
echo "the run failed at Build (exit 1), and the FAILED notification was delivered, as expected"

step "shipspec status news-web --env stg --local (the two executions local run recorded, and the rollout)"
status_out="$scratch/status-runs.txt"
ss status news-web --env stg --local | tee "$status_out"
if ! grep -q 'Succeeded' "$status_out" || ! grep -q 'Failed' "$status_out"; then
  echo "demo-local: status does not show the executions" >&2
  exit 1
fi

step "shipspec local seed photo-thumbs --env stg --broken pull (its image tag is not in ECR)"
ss local seed photo-thumbs --env stg --broken pull

step "shipspec doctor photo-thumbs --env stg --local (finds the problem: exit 1)"
doctor_out="$scratch/doctor-photo-thumbs.txt"
if ! ss doctor photo-thumbs --env stg --local | tee "$doctor_out"; then
  echo "doctor found the problem above (exit 1), as expected"
else
  echo "demo-local: doctor did not report the broken service" >&2
  exit 1
fi
if ! grep -q 'PROBLEM image-not-found' "$doctor_out" || ! grep -q 'PROBLEM image-missing-in-ecr' "$doctor_out"; then
  echo "demo-local: doctor did not name the missing image" >&2
  exit 1
fi

step "shipspec drift --local (nothing changed behind shipspec's back yet: exit 0)"
ss drift --local news-web

step "behind shipspec's back: a log group's retention and a container variable changed by hand"
# What someone in the console would do, through the emulator's own API (account 111111111111, the
# stg environment of news-web): 7 days of build logs instead of 30, and LOG_LEVEL=debug in a new
# task definition revision the service now runs.
python3 - "$scratch/.shipspec/local.json" <<'PY'
import json
import sys

import boto3

endpoint = json.load(open(sys.argv[1]))["endpoint"]
region = "ap-northeast-1"
sts = boto3.client("sts", region_name=region, endpoint_url=endpoint, aws_access_key_id="demo",
                   aws_secret_access_key="demo")
creds = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/console-user",
                        RoleSessionName="console-user")["Credentials"]


def client(name):
    return boto3.client(name, region_name=region, endpoint_url=endpoint, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


client("logs").put_retention_policy(logGroupName="/aws/codebuild/news-web-stg-build", retentionInDays=7)
ecs = client("ecs")
service = ecs.describe_services(cluster="media", services=["news-web"])["services"][0]
td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
container = td["containerDefinitions"][0]
container["environment"] = [dict(e, value="debug") if e["name"] == "LOG_LEVEL" else e
                            for e in container.get("environment", [])]
keep = {k: td[k] for k in ("family", "requiresCompatibilities", "networkMode", "cpu", "memory") if td.get(k)}
arn = ecs.register_task_definition(containerDefinitions=[container], **keep)["taskDefinition"]["taskDefinitionArn"]
ecs.update_service(cluster="media", service="news-web", taskDefinition=arn)
print("changed: /aws/codebuild/news-web-stg-build retention 30 -> 7 days; news-web runs",
      arn.rsplit("/", 1)[-1], "with LOG_LEVEL=debug")
PY

step "shipspec drift --local (finds both: exit 1)"
drift_out="$scratch/drift.txt"
if ss drift --local | tee "$drift_out"; then
  echo "demo-local: drift did not report the changes" >&2
  exit 1
fi
if ! grep -q '/RetentionInDays: expected 30, actual 7' "$drift_out" \
    || ! grep -q 'environment LOG_LEVEL: expected info, actual debug' "$drift_out"; then
  echo "demo-local: drift did not name the changed values" >&2
  exit 1
fi
echo "drift found what changed behind shipspec's back (exit 1), as expected"

step "shipspec status --all --local (the demo fleet on one screen, problems first: the failed run, the service that cannot pull its image)"
status_out="$scratch/status-all.txt"
ss status --all --local | tee "$status_out" || true
# news-web stg's latest run is the one whose build failed above; photo-thumbs stg cannot pull its image
if ! grep -q '^FAILING  *photo-thumbs  *stg.*no task running' "$status_out" \
    || ! grep -q '^FAILING  *news-web  *stg.*pipeline failed in stage Build' "$status_out"; then
  echo "demo-local: status --all did not show the failed run and the broken service" >&2
  exit 1
fi

step "shipspec local deploy news-web --env stg (UpdateService + Deploy as the pipeline runs them: one revision, one rollout, followed to success)"
deploy_out="$scratch/deploy-ok.txt"
ss local deploy news-web --env stg | tee "$deploy_out"
if ! grep -q 'SUCCESSFUL: deployment' "$deploy_out"; then
  echo "demo-local: the rollout was not followed to success" >&2
  exit 1
fi

step "shipspec local deploy news-web --env stg --outcome rollback --reason image-not-found (the circuit breaker rolls back: the service is stable again, yet the run fails, with its diagnosis)"
rollback_out="$scratch/deploy-rolled-back.txt"
if ss local deploy news-web --env stg --outcome rollback --reason image-not-found | tee "$rollback_out"; then
  echo "demo-local: the Deploy step passed a rolled-back rollout" >&2
  exit 1
fi
if ! grep -q 'ROLLED BACK' "$rollback_out" || ! grep -q 'DIAGNOSIS image-not-found' "$rollback_out"; then
  echo "demo-local: the rolled-back rollout was not diagnosed" >&2
  exit 1
fi
echo "the Deploy step failed the rolled-back rollout (exit 1), as expected"

step "shipspec status news-web --env stg --local (each rollout: strategy, state, revisions from -> to)"
ss status news-web --env stg --local

step "shipspec rollback news-web --env stg --local --yes (no rollout in progress: back to the previous revision)"
ss rollback news-web --env stg --local --yes

step "edit the scratch copy of services/news-web.yaml: keep 50 images, a larger build machine, LOG_LEVEL debug"
spec="$scratch/services/news-web.yaml"
sed -i.orig -e 's/keep_images: 30/keep_images: 50/' \
  -e 's/compute_type: BUILD_GENERAL1_MEDIUM/compute_type: BUILD_GENERAL1_LARGE/' \
  -e 's/LOG_LEVEL: info/LOG_LEVEL: debug/' "$spec"
rm -f "$spec.orig"
grep -n -e 'keep_images' -e 'compute_type' -e 'LOG_LEVEL' "$spec"

step "shipspec plan --local news-web (shows the modification, and what reaches the running container)"
out="$scratch/plan-after-edit.txt"
ss plan --local news-web --output "$out"
cat "$out"
if ! grep -q 'Modify  Repository' "$out" || ! grep -q 'BUILD_GENERAL1_LARGE' "$out"; then
  echo "demo-local: the plan does not show the edit" >&2
  exit 1
fi
if ! grep -q '^Runtime changes' "$out" || ! grep -q 'environment variable LOG_LEVEL: "info" -> "debug"' "$out"; then
  echo "demo-local: the plan does not show the runtime row" >&2
  exit 1
fi

step "shipspec import: a hand-written pipeline template (GitHub token, EC2) and its notification template -> a spec"
adopt_root="$scratch/adopt"
mkdir -p "$adopt_root/services"
cp "$root/services/_defaults.yaml" "$adopt_root/services/"
legacy="$root/tests/adopt/fixtures/handwritten"
report="$scratch/import-report.txt"
"${cli[@]}" --root "$adopt_root" import "stg=$legacy/video-api-stg.yml" "prod=$legacy/video-api-prod.yml" \
  --notification "stg=$legacy/video-api-notification-stg.yml" \
  --notification "prod=$legacy/video-api-notification-prod.yml" | tee "$report"
for section in 'Mapped (' 'Not representable (' 'Differences of the generated pipeline'; do
  if ! grep -q "$section" "$report"; then
    echo "demo-local: the import report has no '$section' section" >&2
    exit 1
  fi
done
echo "--- the spec it wrote ---"
cat "$adopt_root/services/video-api.yaml"
"${cli[@]}" --root "$adopt_root" validate
if ! "${cli[@]}" --root "$adopt_root" build >"$scratch/import-build.txt" 2>&1; then
  cat "$scratch/import-build.txt" >&2
  echo "demo-local: the imported spec does not build" >&2
  exit 1
fi
echo "the imported spec validates and builds"

step "shipspec local down"

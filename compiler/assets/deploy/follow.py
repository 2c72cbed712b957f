"""Follow one ECS service deployment to its end: the program inside follow_deployment.sh.

The pipeline's Deploy step (a CodeBuild build) runs it with the deployment UpdateService started:
SERVICE_DEPLOYMENT_ARN (or, when ECS did not report one, DEPLOYMENT_ID, the service's deployment
id) and TASK_DEFINITION_ARN. It polls that deployment, and only that one, until it ends, and
prints its progress. It exits 0 only when the deployment itself is SUCCESSFUL; a deployment
that was rolled back fails the run even though the service is stable again (on the old
revision). On failure it matches the stopped tasks' reasons against shipspec's table of known
failures (embedded below by `shipspec build`) and prints the diagnosis.

Standard library and the AWS CLI only; python3 3.8+. The generated script sets CLUSTER, SERVICE,
STRATEGY, SPEC_NAME, SPEC_ENV and TIMEOUT_SECONDS; POLL_SECONDS may be set (default 15).
"""

import json
import os
import re
import subprocess
import sys
import time

# shipspec build replaces the next two lines: the table of known failures in precedence order, and
# where its entries are explained.
KNOWN_FAILURES = []  # @KNOWN_FAILURES@
TROUBLESHOOTING = "docs/troubleshooting.md"  # @TROUBLESHOOTING@
SUCCEEDED = ("SUCCESSFUL",)
ROLLED_BACK = ("ROLLBACK_SUCCESSFUL",)
FAILED = ("STOPPED", "ROLLBACK_FAILED")
MAX_TASKS = 100
MAX_SHOWN = 5


class AwsError(Exception):
    pass


def say(message):
    sys.stdout.write("follow_deployment: " + message + "\n")
    sys.stdout.flush()


def fail(message):
    sys.stderr.write("follow_deployment: ERROR: " + message + "\n")
    sys.stderr.flush()
    sys.exit(1)


def aws(*args):
    """One AWS CLI call; its JSON answer. AwsError with the CLI's message when it fails."""
    proc = subprocess.run(["aws", *args, "--output", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if proc.returncode != 0:
        text = " ".join(proc.stderr.split())
        if "Invalid choice" in text or "Unknown options" in text:
            text += (" (this AWS CLI is too old for ECS service deployments: use a newer build image, "
                     "build.image in the spec)")
        raise AwsError(text or "exit status %d" % proc.returncode)
    return json.loads(proc.stdout or "{}")


def short(arn):
    """The last part of an ARN (a revision's family:revision, a deployment's id)."""
    return (arn or "").rsplit("/", 1)[-1] or "?"


def minutes(seconds):
    seconds = max(0, int(seconds))
    return "%dm%02ds" % (seconds // 60, seconds % 60)


# --- the known-failures table -----------------------------------------------------------------

def match(text):
    """The first entry of the table whose pattern matches `text` (case-insensitive), or None."""
    for entry in KNOWN_FAILURES:
        if text and re.search(entry["pattern"], text, re.IGNORECASE):
            return entry
    return None


def stopped_tasks(cluster, service, task_definition):
    """(task id, [reasons]) of the service's stopped tasks running `task_definition`, newest first."""
    arns = aws("ecs", "list-tasks", "--cluster", cluster, "--service-name", service, "--desired-status",
               "STOPPED", "--max-items", str(MAX_TASKS)).get("taskArns", [])
    tasks = []
    for i in range(0, len(arns), 100):
        tasks += aws("ecs", "describe-tasks", "--cluster", cluster, "--tasks", *arns[i:i + 100]).get("tasks", [])
    out = []
    for t in sorted(tasks, key=lambda t: str(t.get("stoppedAt", "")), reverse=True):
        if task_definition and t.get("taskDefinitionArn") != task_definition:
            continue
        reasons = [t.get("stoppedReason") or ""]
        reasons += ["container %s: %s" % (c.get("name"), c.get("reason")) for c in t.get("containers", [])
                    if c.get("reason")]
        out.append((short(t.get("taskArn")), [r for r in reasons if r]))
    return out


def diagnose(cluster, service, task_definition, texts):
    """Print what the table makes of the deployment's own reasons and its stopped tasks' reasons."""
    found = {}
    for text in texts:
        entry = match(text)
        if entry and entry["severity"] == "error":
            found.setdefault(entry["id"], (entry, text))
    try:
        tasks = stopped_tasks(cluster, service, task_definition)
    except AwsError as exc:
        say("cannot read the stopped tasks: %s" % exc)
        tasks = []
    if tasks:
        say("stopped tasks of %s: %d" % (short(task_definition) if task_definition else "the new revision",
                                         len(tasks)))
    for task_id, reasons in tasks[:MAX_SHOWN]:
        for reason in reasons:
            say("  task %s: %s" % (task_id, reason))
            entry = match(reason)
            if entry and entry["severity"] == "error":
                found.setdefault(entry["id"], (entry, reason))
    for entry, seen in found.values():
        say("DIAGNOSIS %s: %s" % (entry["id"], entry["title"]))
        say("  seen: %s" % seen)
        say("  what it means and how to fix it: %s#%s" % (TROUBLESHOOTING, entry["id"]))
    if not found:
        say("no known failure matches the reasons above; see %s" % TROUBLESHOOTING)
    say("for the whole picture run: shipspec doctor %s --env %s" % (os.environ.get("SPEC_NAME", "<name>"),
                                                                    os.environ.get("SPEC_ENV", "<env>")))


# --- following a service deployment ------------------------------------------------------------

def revisions(deployment):
    """'family:1 -> family:2' from the deployment's service revisions (best effort)."""
    source = [r.get("arn") for r in deployment.get("sourceServiceRevisions") or [] if r.get("arn")]
    target = (deployment.get("targetServiceRevision") or {}).get("arn")
    arns = [a for a in source + [target] if a]
    names = {}
    if arns:
        try:
            for r in aws("ecs", "describe-service-revisions", "--service-revision-arns",
                         *arns).get("serviceRevisions", []):
                names[r.get("serviceRevisionArn")] = short(r.get("taskDefinition"))
        except AwsError:
            pass
    before = ", ".join(names.get(a, short(a)) for a in source) or "none"
    return before, names.get(target, short(target)) if target else "?"


def progress(d, bake_started, now):
    target = d.get("targetServiceRevision") or {}
    config = d.get("deploymentConfiguration") or {}
    parts = [d.get("status", "?")]
    if d.get("lifecycleStage"):
        parts.append("stage " + d["lifecycleStage"])
    parts.append("running %s / pending %s / desired %s" % (target.get("runningTaskCount", 0),
                                                          target.get("pendingTaskCount", 0),
                                                          target.get("requestedTaskCount", "?")))
    if target.get("requestedProductionTrafficWeight") is not None:
        parts.append("production traffic %s%%" % target["requestedProductionTrafficWeight"])
    if bake_started is not None:
        left = int(config.get("bakeTimeInMinutes") or 0) * 60 - (now - bake_started)
        parts.append("bake time left " + minutes(left))
    return ", ".join(parts)


def follow_service_deployment(arn, cluster, service, timeout, poll, task_definition):
    def describe():
        answer = aws("ecs", "describe-service-deployments", "--service-deployment-arns", arn)
        found = answer.get("serviceDeployments") or []
        if not found:
            reasons = "; ".join("%s %s" % (f.get("reason"), f.get("detail") or "") for f in answer.get("failures", []))
            fail("service deployment %s not found (%s)" % (arn, reasons or "no answer"))
        return found[0]

    start = time.time()
    d = describe()
    before, after = revisions(d)
    strategy = (d.get("deploymentConfiguration") or {}).get("strategy") or os.environ.get("STRATEGY", "?")
    say("following service deployment %s of service %s in cluster %s (%s), up to %s" % (
        short(arn), service, cluster, strategy, minutes(timeout)))
    say("revisions: %s -> %s" % (before, after))
    last, bake_started = "", None
    while True:
        now = time.time()
        if d.get("lifecycleStage") == "BAKE_TIME" and bake_started is None:
            bake_started = now
        line = progress(d, bake_started, now)
        if line != last:
            say(line)
            last = line
        status = d.get("status", "")
        reasons = list(dict.fromkeys(x for x in (d.get("statusReason"), (d.get("rollback") or {}).get("reason")) if x))
        if status in SUCCEEDED:
            say("SUCCESSFUL: deployment %s finished; service %s runs %s" % (short(arn), service, after))
            return 0
        if status in ROLLED_BACK or status in FAILED:
            what = ("ROLLED BACK: the deployment failed and ECS went back to %s; the service may be stable, "
                    "but on the old revision, so this run fails" % before) if status in ROLLED_BACK else \
                "FAILED: the deployment ended %s" % status
            sys.stderr.write("follow_deployment: ERROR: %s\n" % what)
            for reason in reasons:
                say("reason: %s" % reason)
            diagnose(cluster, service, task_definition, reasons)
            return 1
        if now - start >= timeout:
            sys.stderr.write("follow_deployment: ERROR: timed out after %s: deployment %s is still %s. It goes "
                             "on in ECS; stop it with `shipspec rollback %s --env %s`, or raise "
                             "deploy.timeout_minutes\n" % (minutes(now - start), short(arn), status,
                                                           os.environ.get("SPEC_NAME", "<name>"),
                                                           os.environ.get("SPEC_ENV", "<env>")))
            return 1
        time.sleep(poll)
        d = describe()


def follow_deployment_id(deployment_id, cluster, service, timeout, poll, task_definition):
    """Without a service deployment ARN: follow the service's deployment with this id."""
    start, last = time.time(), ""
    say("following deployment %s of service %s in cluster %s (no service deployment ARN was reported), up to %s"
        % (deployment_id, service, cluster, minutes(timeout)))
    while True:
        services = aws("ecs", "describe-services", "--cluster", cluster, "--services", service).get("services", [])
        deployments = services[0].get("deployments", []) if services else []
        mine = next((d for d in deployments if d.get("id") == deployment_id), None)
        if mine is None:
            sys.stderr.write("follow_deployment: ERROR: deployment %s is no longer listed: it was replaced or "
                             "rolled back\n" % deployment_id)
            diagnose(cluster, service, task_definition, [])
            return 1
        line = "%s, rollout %s, running %s / pending %s / desired %s" % (
            mine.get("status"), mine.get("rolloutState"), mine.get("runningCount"), mine.get("pendingCount"),
            mine.get("desiredCount"))
        if line != last:
            say(line)
            last = line
        if mine.get("rolloutState") == "COMPLETED" and mine.get("status") == "PRIMARY":
            say("SUCCESSFUL: deployment %s completed" % deployment_id)
            return 0
        if mine.get("rolloutState") == "FAILED":
            sys.stderr.write("follow_deployment: ERROR: deployment %s FAILED\n" % deployment_id)
            reason = mine.get("rolloutStateReason") or ""
            if reason:
                say("reason: %s" % reason)
            diagnose(cluster, service, task_definition or mine.get("taskDefinition"), [reason])
            return 1
        if time.time() - start >= timeout:
            sys.stderr.write("follow_deployment: ERROR: timed out: deployment %s is still %s\n"
                             % (deployment_id, mine.get("rolloutState")))
            return 1
        time.sleep(poll)


def given(name):
    """An environment variable; "" when unset, empty or the pipeline's "-" (nothing reported)."""
    value = os.environ.get(name, "").strip()
    return "" if value == "-" else value


def main():
    cluster, service = os.environ["CLUSTER"], os.environ["SERVICE"]
    timeout = float(os.environ.get("TIMEOUT_SECONDS") or 1800)
    poll = float(os.environ.get("POLL_SECONDS") or 15)
    arn, deployment_id = given("SERVICE_DEPLOYMENT_ARN"), given("DEPLOYMENT_ID")
    task_definition = given("TASK_DEFINITION_ARN")
    if not arn and not deployment_id:
        fail("neither SERVICE_DEPLOYMENT_ARN nor DEPLOYMENT_ID is set: the pipeline passes what UpdateService "
             "exported (with build.buildspec: repo, copy the generated updatespec.yml, update_taskdefinition.sh, "
             "deployspec.yml and follow_deployment.sh into codepipeline/)")
    try:
        if arn:
            return follow_service_deployment(arn, cluster, service, timeout, poll, task_definition)
        return follow_deployment_id(deployment_id, cluster, service, timeout, poll, task_definition)
    except AwsError as exc:
        fail("cannot read the deployment: %s" % exc)


if __name__ == "__main__":
    sys.exit(main())

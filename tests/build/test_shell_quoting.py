"""One quoting path for the update script (compiler/build/render/shell.py): whatever a value holds
-- quotes, `$(...)`, backslashes, newlines, a line equal to a here-document delimiter -- the
inline UpdateService command writes exactly the generated script, and the script sets exactly the
spec's values. Issue 16: a delimiter line inside service.cluster passed validate and made build
die with "internal error: ValueError"; validation now refuses it (tests/spec/test_hostile_input.py),
and the renderer cannot collide even when handed such a value."""

from __future__ import annotations

import json
import os
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.build.render import shell
from compiler.build.render.service_files import SCRIPT_DELIMITER, inline_script_command, update_script
from compiler.spec.models import ServiceConfig
from compiler.spec.project import load_project
from support.cli import REPO

BASE = next(s.config for s in load_project(REPO, ["news-web"]).services if s.config.environment.name == "stg")
NASTY = ["SHIPSPEC_UPDATE_TASKDEFINITION_EOF", "SHIPSPEC_HELPER", f"{SCRIPT_DELIMITER}_2", "'", '"', "\\",
         "$(touch pwned)", "`touch pwned`", "${IFS}", "\n", "\r", "\t", " ", "é", "EOF", "'\"'\"'"]
# Bash strings cannot hold NUL; validation refuses control characters in names anyway.
VALUE = st.lists(st.one_of(st.sampled_from(NASTY), st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)),
                 min_size=1, max_size=6).map(lambda parts: "\n".join(parts) if len(parts) % 2 else "".join(parts)).filter(bool)
# Exports the script's values to $OUT when the script stops (it stops at the IMAGE_URI check).
REPORT = ('trap \'if [ -n "${CLUSTER+x}" ]; then printf "%s\\0" "$CLUSTER" "$SERVICE" "$CONTAINER" '
          '"$SPEC_ENVIRONMENT" > "$OUT"; fi\' EXIT\n')


def _config(cluster: str, service: str, container: str, env_value: str) -> ServiceConfig:
    data = BASE.model_dump()
    data["service"] = {**data["service"], "cluster": cluster, "name": service, "container": container,
                       "environment": {"PROBE": env_value}}
    return ServiceConfig.model_validate(data)  # the model alone: the name checks would refuse these


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(VALUE, VALUE, VALUE, VALUE)
def test_any_value_reaches_the_script_intact(tmp_path_factory, cluster, service, container, env_value):
    tmp = tmp_path_factory.mktemp("quoting")
    c = _config(cluster, service, container, env_value)
    command = inline_script_command(c).replace('bash "$UPDATE_SCRIPT"', 'cp "$UPDATE_SCRIPT" "$COPY"\nbash "$UPDATE_SCRIPT"')
    (tmp / "env.sh").write_text(REPORT)
    env = {**{k: v for k, v in os.environ.items() if k != "IMAGE_URI"}, "BASH_ENV": str(tmp / "env.sh"),
           "OUT": str(tmp / "out"), "COPY": str(tmp / "copy.sh"), "TMPDIR": str(tmp)}
    result = subprocess.run(["bash", "-c", command], cwd=tmp, env=env, capture_output=True, timeout=30)
    assert b"IMAGE_URI is not set" in result.stderr, result.stderr
    assert (tmp / "copy.sh").read_bytes().decode("utf-8") == update_script(c)
    values = (tmp / "out").read_bytes().split(b"\0")[:-1]
    assert [v.decode("utf-8") for v in values[:3]] == [cluster, service, container]
    assert json.loads(values[3]) == {"PROBE": env_value}
    assert not (tmp / "pwned").exists()


def test_the_delimiter_never_equals_a_line_of_the_text():
    body = f"a\n{SCRIPT_DELIMITER}\n{SCRIPT_DELIMITER}_2\nb"
    assert shell.heredoc_delimiter(body, SCRIPT_DELIMITER) == f"{SCRIPT_DELIMITER}_3"
    assert shell.heredoc_delimiter("plain\n", SCRIPT_DELIMITER) == SCRIPT_DELIMITER  # stable output otherwise
    text = shell.heredoc("cat", body, SCRIPT_DELIMITER)
    assert subprocess.run(["bash", "-c", text], capture_output=True, text=True).stdout == body + "\n"

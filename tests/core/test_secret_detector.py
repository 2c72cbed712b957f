"""The one secret detector (compiler/core/secrets.py): every pattern matches what it is for, and the
spec scan (`validate`) and the lint rule SS302 refuse exactly the same values and names."""

from __future__ import annotations

import pytest

from compiler.core.secrets import VALUE_PATTERNS, dynamic_reference, secret_like_name, secret_value
from compiler.lint.pipeline_rules import _env_var_problems

# Fake credentials, built so that no real one is ever written here.
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
EXAMPLES = {
    "an AWS access key id": [AWS_KEY_ID, "ASIA" + "Y34FZKBOKMUTVV7A", f"key={AWS_KEY_ID};"],
    "a GitHub token": ["ghp_" + "a" * 36, "gho_" + "B1" * 10, "github_pat_" + "11AAAA" * 4],
    "a private key": ["-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY", "-----BEGIN OPENSSH PRIVATE KEY",
                      "-----BEGIN PGP PRIVATE KEY BLOCK-----", "-----BEGIN ENCRYPTED PRIVATE KEY-----",
                      "-----begin rsa private key-----"],
    "a password in a URL": ["postgres://app:hunter2@db.internal:5432/app", "https://user:pass@example.com",
                            # issue 16: uppercase schemes, an empty user, a '/' in the password
                            "POSTGRES://user:" + "pw@db.internal/app", "Redis://:" + "s3cret@cache:6379",
                            "redis://:" + "pw@cache", "mysql://app:pa/ss" + "word@db/app"],
    "a Slack token or webhook": ["xoxb-" + "1234567890-abc", "xoxp-1", "https://hooks.slack.com/services/T0/B0/x",
                                 "HTTPS://HOOKS.SLACK.COM/services/T0/B0/x",
                                 "https://hooks.slack.com/workflows/T0/A0/123/x",
                                 "https://hooks.slack.com/triggers/T0/123/x"],
    "a Stripe live key": ["sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "rk_live_abc"],
    "a SendGrid API key": ["SG." + "a1B2c3D4e5F6g7H8i9J0kL" + "." + "m" * 43],
    "a Twilio API key": ["SK" + "0123456789abcdef" * 2],
    "a Google API key": ["AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"],
    "an npm token": ["npm_" + "A1b2C3d4E5" * 3 + "f6G7h8"],
    "a PyPI token": ["pypi-AgEIcHlwaS5vcmc" + "CJDA1ZjY2" * 6],
    "a JSON Web Token": ["eyJhbGciOiJIUzI1NiJ9" + "." + "eyJzdWIiOiIxMjM0In0" + "." + "dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW"],
    "an AWS secret access key": ["wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"],
}
NOT_SECRETS = ["https://example.com/path", "postgres://db.internal:5432/app", "sk_test_abc", "ghp_short",
               "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:db-AbCdEf", "AKIA", "hello world",
               "https://example.com:8443/users/@me", "docker://registry:5000/image@sha256:abc",
               "sqlite:///data/app.db", "SK-not-a-key", "npm_token_name", "eyJ-not-a-token",
               "https://slack.com/help", "SG.short.x"]


def test_every_pattern_has_examples():
    assert {what for what, _ in VALUE_PATTERNS} == set(EXAMPLES)


@pytest.mark.parametrize("what,value", [(w, v) for w, vs in EXAMPLES.items() for v in vs])
def test_each_pattern_finds_its_credential(what, value):
    assert secret_value(value) == what


@pytest.mark.parametrize("value", NOT_SECRETS)
def test_ordinary_values_pass(value):
    assert secret_value(value) is None


@pytest.mark.parametrize("name", ["DB_PASSWORD", "db_passwd", "API_KEY", "apikey", "GITHUB_TOKEN", "SECRET",
                                  "CLIENT_SECRET", "PRIVATE_KEY", "SIGNING_KEY", "ACCESS_KEY", "PWD",
                                  "MY_CREDENTIALS", "PASSPHRASE", "SECRETS_PATH"])
def test_secret_looking_names(name):
    assert secret_like_name(name)


@pytest.mark.parametrize("name", ["LOG_LEVEL", "IMAGE_URI", "KEY_PREFIX", "MONKEY", "PUBLIC_URL", "CACHE_KEY"])
def test_ordinary_names(name):
    assert not secret_like_name(name)


@pytest.mark.parametrize("value", [v for vs in EXAMPLES.values() for v in vs])
def test_lint_refuses_every_value_the_spec_scan_refuses(value):
    assert _env_var_problems("PLAIN", value, "PLAINTEXT") == ["PLAIN: the PLAINTEXT value looks like a credential"]


@pytest.mark.parametrize("name", ["DB_PASSWORD", "SIGNING_KEY", "PWD", "API_KEY"])
def test_lint_refuses_every_name_the_spec_scan_refuses(name):
    assert _env_var_problems(name, "plain", "PLAINTEXT") != []


def test_the_spec_scan_uses_the_detector(cli, example_repo):
    spec = example_repo / "services" / "photo-thumbs.yaml"
    value = EXAMPLES["a Stripe live key"][0]
    spec.write_text(spec.read_text() + f"\n# a comment\ndescription: \"{value}\"\n")
    r = cli("validate", "photo-thumbs", root=example_repo)
    assert r.status == 1 and "looks like a Stripe live key" in r.err and value not in r.err


@pytest.mark.parametrize("value", ["{{resolve:secretsmanager:other-team/db:SecretString:password}}",
                                   "x-{{resolve:ssm-secure:/db/password}}", "{{ Resolve:ssm:/plain }}"])
def test_dynamic_references_are_found(value):
    assert dynamic_reference(value)


@pytest.mark.parametrize("value", ["{{not a reference}}", "resolve:secretsmanager", "#{SourceVariables.CommitId}"])
def test_other_braces_are_not_dynamic_references(value):
    assert not dynamic_reference(value)


def test_lint_refuses_a_dynamic_reference_in_a_plaintext_variable():
    assert _env_var_problems("DB", "{{resolve:secretsmanager:db:SecretString:pw}}", "PLAINTEXT") == [
        "DB: the PLAINTEXT value is a dynamic reference ({{resolve:...}}), which CloudFormation resolves into "
        "plain text; use type SECRETS_MANAGER or PARAMETER_STORE"]

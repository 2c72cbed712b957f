"""The one secret detector: values that are credentials wherever they appear, and names that say a
value is secret. `validate` (the spec scan, `compiler/spec/secrets_scan.py`) and `lint` (SS302, on
the generated CodeBuild variables) both use it, so a value one refuses the other refuses too.

Each pattern has a test that it matches (`tests/core/test_secret_detector.py`). Detection never
returns the matched text: callers must not echo a suspected secret back.
"""

from __future__ import annotations

import re

# (what it looks like, pattern) of values that are credentials wherever they appear. Specific
# formats come before the generic AWS secret access key shape, so a value is named for what it is.
VALUE_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("an AWS access key id", re.compile(
        r"(?<![A-Z0-9])(AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}|github_pat_")),
    # PEM and PGP armour alike: -----BEGIN RSA PRIVATE KEY-----, -----BEGIN PGP PRIVATE KEY BLOCK-----
    ("a private key", re.compile(r"-{3,}\s*BEGIN [A-Z0-9 ]*PRIVATE KEY", re.IGNORECASE)),
    # scheme://user:password@ in any case, the user possibly empty (redis://:pw@), a '/' allowed in
    # the password; host:port/path@ (a port, then a path holding '@') is not a password.
    ("a password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:(?!\d+/)[^\s@]+@", re.IGNORECASE)),
    ("a Slack token or webhook", re.compile(
        r"xox[abposr]-|hooks\.slack\.com/(?:services|workflows|triggers)/", re.IGNORECASE)),
    ("a Stripe live key", re.compile(r"[sr]k_live_")),
    ("a SendGrid API key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{20,64}")),
    ("a Twilio API key", re.compile(r"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])")),
    ("a Google API key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    ("an npm token", re.compile(r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("a PyPI token", re.compile(r"(?<![A-Za-z0-9])pypi-AgE[A-Za-z0-9_-]{40,}")),
    ("a JSON Web Token", re.compile(
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
    ("an AWS secret access key", re.compile(
        r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]*[0-9])(?=[A-Za-z0-9/+=]*[a-z])"
        r"(?=[A-Za-z0-9/+=]*[A-Z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")),
)

# A CloudFormation dynamic reference ({{resolve:secretsmanager:...}}, {{resolve:ssm-secure:...}},
# {{resolve:ssm:...}}): CloudFormation replaces it with the referenced value at deploy time, so in
# a tag, a buildspec or a PLAINTEXT variable it puts another secret's value in plain text.
DYNAMIC_REFERENCE = re.compile(r"\{\{\s*resolve\s*:", re.IGNORECASE)

# A name is secret-looking when one of its words says so, or when it contains one of these.
_SECRET_WORDS = {"SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "TOKEN", "TOKENS", "CREDENTIAL", "CREDENTIALS",
                 "APIKEY", "PASSPHRASE"}
_KEY_QUALIFIERS = {"API", "ACCESS", "SECRET", "PRIVATE", "SIGNING", "ENCRYPTION", "MASTER", "CLIENT"}
_SECRET_PARTS = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIAL",
                           re.IGNORECASE)
# Long-lived keys of an IAM user: refused even from a secret store (use the task role).
IAM_USER_KEYS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


def secret_value(text: str) -> str | None:
    """What `text` looks like ("an AWS access key id", ...) if it holds a credential, else None."""
    return next((what for what, pattern in VALUE_PATTERNS if pattern.search(text)), None)


def dynamic_reference(text: str) -> bool:
    """Whether `text` holds a CloudFormation dynamic reference ({{resolve:...}})."""
    return bool(DYNAMIC_REFERENCE.search(text))


def secret_like_name(name: str) -> bool:
    """Whether a variable name says its value is secret (DB_PASSWORD, API_KEY, GITHUB_TOKEN, ...)."""
    if _SECRET_PARTS.search(name):
        return True
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(w == "KEY" and i > 0 and words[i - 1] in _KEY_QUALIFIERS for i, w in enumerate(words))

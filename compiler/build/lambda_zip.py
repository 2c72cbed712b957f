"""The notification Lambda's deployment package: a deterministic zip of handler.py.

Same source, same bytes: fixed timestamp (1980-01-01), fixed permissions (0644), deflate.
The S3 key carries the content hash, so a changed handler gets a new key and CloudFormation
updates the function.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from importlib import resources

HANDLER_FILE = "handler.py"
HANDLER = "handler.handler"  # the Lambda Handler property
_EPOCH = (1980, 1, 1, 0, 0, 0)


def handler_source() -> bytes:
    """The Lambda source as shipped in the package (compiler/assets/notify/handler.py)."""
    return (resources.files("compiler") / "assets" / "notify" / HANDLER_FILE).read_bytes()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A reproducible zip: entries in name order, fixed timestamps and permissions."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits below apply
            info.external_attr = (0o100644 & 0xFFFF) << 16
            zf.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


def lambda_zip(source: bytes | None = None) -> bytes:
    return zip_bytes({HANDLER_FILE: handler_source() if source is None else source})


def lambda_key(package: bytes | None = None) -> str:
    """S3 key of the package: lambda/notify-<first 16 hex of its sha256>.zip."""
    data = lambda_zip() if package is None else package
    return f"lambda/notify-{hashlib.sha256(data).hexdigest()[:16]}.zip"

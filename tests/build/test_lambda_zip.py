"""The notification Lambda package: reproducible bytes, only handler.py, content-addressed key."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

from compiler.build import lambda_zip as lz
from support.cli import REPO

ASSET = REPO / "compiler" / "assets" / "notify" / "handler.py"


def test_same_bytes_every_time():
    assert lz.lambda_zip() == lz.lambda_zip()
    assert lz.lambda_key() == lz.lambda_key()


def test_contains_only_the_handler_with_fixed_metadata():
    zf = zipfile.ZipFile(io.BytesIO(lz.lambda_zip()))
    assert zf.testzip() is None
    infos = zf.infolist()
    assert [i.filename for i in infos] == ["handler.py"]
    info = infos[0]
    assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert (info.external_attr >> 16) & 0o777 == 0o644
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert zf.read("handler.py") == ASSET.read_bytes() == lz.handler_source()


def test_handler_module_defines_the_entry_point():
    source = lz.handler_source().decode()
    assert lz.HANDLER == "handler.handler"
    assert re.search(r"^def handler\(event, context=None\)", source, re.M)


def test_key_follows_content():
    package = lz.lambda_zip()
    key = lz.lambda_key()
    assert re.fullmatch(r"lambda/notify-[0-9a-f]{16}\.zip", key)
    assert key == f"lambda/notify-{hashlib.sha256(package).hexdigest()[:16]}.zip"
    changed = lz.lambda_zip(lz.handler_source() + b"\n# changed\n")
    assert changed != package
    assert lz.lambda_key(changed) != key


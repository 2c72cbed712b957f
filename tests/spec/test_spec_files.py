"""Reading a spec's bytes (compiler/spec/files.py): exactly the file up to MAX_BYTES, refused
above it, at the chunk boundaries of the chunked reader too."""

from __future__ import annotations

import pytest

from compiler.spec import files
from compiler.spec.files import MAX_BYTES, read_head, read_limited


@pytest.mark.parametrize("size", [0, 1, files._CHUNK - 1, files._CHUNK, files._CHUNK + 1, 3 * files._CHUNK,
                                  MAX_BYTES - 1, MAX_BYTES])
def test_a_file_up_to_the_limit_is_read_whole(tmp_path, size):
    path = tmp_path / "s.yaml"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    assert read_head(path) == data and read_limited(path) == data


@pytest.mark.parametrize("size", [MAX_BYTES + 1, MAX_BYTES + files._CHUNK, 5 * MAX_BYTES])
def test_a_larger_file_is_refused_after_reading_one_byte_too_many(tmp_path, size):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"x" * size)
    assert len(read_head(path)) == MAX_BYTES + 1
    assert read_limited(path) is None


def test_unreadable_is_none_or_oserror(tmp_path):
    assert read_limited(tmp_path / "missing.yaml") is None and read_limited(tmp_path) is None
    with pytest.raises(OSError):
        read_head(tmp_path / "missing.yaml")

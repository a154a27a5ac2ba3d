import hashlib
import tarfile

import pytest
import webdataset as wds

from pipeline.shards.tar import ShardWriter, sample_tar_size, validate_key


def write(folder, n, max_samples=3, max_bytes=10**9):
    w = ShardWriter(folder, "s", max_samples, max_bytes)
    for i in range(n):
        w.write(f"k{i:03d}", [("json", b'{"i": %d}' % i), ("0.jpg", bytes([i]) * (100 + i))])
    return w.close()


def test_rotation_by_samples_and_identical_bytes(tmp_path):
    a = write(tmp_path / "a", 7)
    b = write(tmp_path / "b", 7)
    assert [s.samples for s in a] == [3, 3, 1]
    for sa, sb in zip(a, b):
        assert (tmp_path / "a" / sa.name).read_bytes() == (tmp_path / "b" / sb.name).read_bytes()
        assert sa.sha256 == hashlib.sha256((tmp_path / "a" / sa.name).read_bytes()).hexdigest()
        assert sa.bytes == (tmp_path / "a" / sa.name).stat().st_size


def test_rotation_by_bytes(tmp_path):
    size = sample_tar_size([("json", b"x" * 10), ("0.jpg", b"y" * 100)])
    w = ShardWriter(tmp_path, "s", 100, max_bytes=size * 2 + 1)
    for i in range(5):
        w.write(f"k{i}", [("json", b"x" * 10), ("0.jpg", b"y" * 100)])
    assert [s.samples for s in w.close()] == [2, 2, 1]


def test_members_are_normalised_and_webdataset_reads_them(tmp_path):
    shards = write(tmp_path, 4, max_samples=10)
    with tarfile.open(tmp_path / shards[0].name) as tar:
        members = tar.getmembers()
        assert [m.name for m in members[:2]] == ["k000.json", "k000.0.jpg"]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in members} == {(0, 0, 0, "", 0o644)}
    samples = list(wds.WebDataset(str(tmp_path / shards[0].name), shardshuffle=False))
    assert [s["__key__"] for s in samples] == ["k000", "k001", "k002", "k003"]
    assert samples[2]["0.jpg"] == bytes([2]) * 102


@pytest.mark.parametrize("key", ["", "a.b", "a/b"])
def test_bad_keys_are_rejected(key):
    with pytest.raises(ValueError, match="invalid sample key"):
        validate_key(key)

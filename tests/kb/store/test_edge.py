import subprocess
import sys

import pytest

from kb.errors import ConfigError, StoreLockedError
from kb.store.edge import EdgeStore
from tests.kb.store.contract import CORPUS, DIM, StoreContract


class TestEdgeStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = EdgeStore(tmp_path / "qdrant", DIM)
        yield s
        s.close()


def test_data_survives_reopen(tmp_path):
    s = EdgeStore(tmp_path / "qdrant", DIM)
    s.upsert(CORPUS)
    s.close()
    s = EdgeStore(tmp_path / "qdrant", DIM)
    assert s.count() == len(CORPUS)
    s.close()


def test_wrong_dimension_is_a_clear_error(tmp_path):
    EdgeStore(tmp_path / "qdrant", DIM).close()
    with pytest.raises(ConfigError, match="8-dimensional"):
        EdgeStore(tmp_path / "qdrant", DIM * 2)


def test_second_process_gets_in_use_by_pid(tmp_path):
    s = EdgeStore(tmp_path / "qdrant", DIM)
    try:
        code = (
            "from pathlib import Path; from kb.store.edge import EdgeStore\n"
            f"EdgeStore(Path({str(tmp_path / 'qdrant')!r}), {DIM})"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode != 0
        assert "StoreLockedError" in proc.stderr
        import os

        assert f"in use by pid {os.getpid()}" in proc.stderr
    finally:
        s.close()
    # released: the same process can open it again
    EdgeStore(tmp_path / "qdrant", DIM).close()


def test_lock_error_type(tmp_path):
    s = EdgeStore(tmp_path / "qdrant", DIM)
    try:
        from kb.store.edge import ShardLock

        with pytest.raises(StoreLockedError, match="in use by pid"):
            ShardLock(tmp_path / "qdrant").acquire()
    finally:
        s.close()

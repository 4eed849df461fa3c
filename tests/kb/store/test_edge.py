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


def test_backup_is_a_loadable_copy_and_the_lock_names_the_holder(tmp_path):
    from kb.errors import StoreLockedError
    from kb.store.edge import ShardLock

    s = EdgeStore(tmp_path / "qdrant", DIM)
    s.upsert(CORPUS)
    paused = []
    s.backup(tmp_path / "copy", while_paused=lambda: paused.append(s.count()))
    s.upsert([CORPUS[0]])
    assert paused == [len(CORPUS)]
    ShardLock(tmp_path / "qdrant").probe()  # this process holds it: no error
    s.close()
    copy = EdgeStore(tmp_path / "copy", DIM)
    assert copy.count() == len(CORPUS)
    copy.close()
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", f"from kb.store.edge import ShardLock; from pathlib import Path; "
         f"ShardLock(Path({str(tmp_path / 'copy')!r})).probe(); print('free')"],
        capture_output=True, text=True,
    )
    assert probe.stdout.strip() == "free"
    held = EdgeStore(tmp_path / "copy", DIM)
    try:
        busy = subprocess.run(
            [sys.executable, "-c", f"from kb.store.edge import ShardLock; from pathlib import Path; "
             f"ShardLock(Path({str(tmp_path / 'copy')!r})).probe()"],
            capture_output=True, text=True,
        )
        assert busy.returncode == 1 and StoreLockedError.__name__ in busy.stderr
        assert f"in use by pid {__import__('os').getpid()}" in busy.stderr
    finally:
        held.close()

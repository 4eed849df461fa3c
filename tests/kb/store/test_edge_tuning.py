"""The Edge store's encoder record, int8 quantisation and optimise (issue 14)."""

import pytest

from kb.errors import ConfigError
from kb.store.edge import EdgeStore, encoder_file, stored_encoder
from tests.kb.store.contract import CORPUS, DIM, StoreContract


class TestEdgeInt8Store(StoreContract):
    """The whole contract holds with int8 vectors in RAM and fp32 originals on disk."""

    @pytest.fixture
    def store(self, tmp_path):
        s = EdgeStore(tmp_path / "qdrant", DIM, quantization="int8")
        yield s
        s.close()


def test_the_encoder_is_recorded_and_another_is_refused(tmp_path):
    EdgeStore(tmp_path / "qdrant", DIM, encoder="all-MiniLM-L6-v2").close()
    assert stored_encoder(tmp_path / "qdrant") == "all-MiniLM-L6-v2"
    with pytest.raises(ConfigError, match=r"made by the 'all-MiniLM-L6-v2' encoder.*must not be mixed"):
        EdgeStore(tmp_path / "qdrant", DIM, encoder="all-MiniLM-L6-v2-onnx-int8")
    EdgeStore(tmp_path / "qdrant", DIM, encoder="all-MiniLM-L6-v2").close()  # the same one opens


def test_an_unrecorded_384d_shard_is_the_fp32_default(tmp_path):
    EdgeStore(tmp_path / "qdrant", 384).close()  # a store from before the record
    assert not encoder_file(tmp_path / "qdrant").exists()
    with pytest.raises(ConfigError, match="must not be mixed"):
        EdgeStore(tmp_path / "qdrant", 384, encoder="all-MiniLM-L6-v2-onnx-int8")
    EdgeStore(tmp_path / "qdrant", 384, encoder="all-MiniLM-L6-v2").close()


def test_an_unrecorded_shard_of_another_size_adopts_its_encoder(tmp_path):
    EdgeStore(tmp_path / "qdrant", DIM).close()
    EdgeStore(tmp_path / "qdrant", DIM, encoder="hash-8").close()
    assert stored_encoder(tmp_path / "qdrant") == "hash-8"


def test_optimise_keeps_every_point_and_the_ranking(tmp_path):
    s = EdgeStore(tmp_path / "qdrant", DIM)
    s.upsert(CORPUS)
    before = [p.id for p in s.query("dense", CORPUS[0].dense, 3)]
    s.optimise()
    assert s.count() == len(CORPUS)
    assert [p.id for p in s.query("dense", CORPUS[0].dense, 3)] == before
    s.close()


def test_an_unknown_quantization_names_the_choices(tmp_path):
    with pytest.raises(ConfigError, match="use none or int8"):
        EdgeStore(tmp_path / "qdrant", DIM, quantization="pq")

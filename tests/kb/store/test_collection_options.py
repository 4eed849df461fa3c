"""Cluster parameters for a new server collection come from the settings (deploy/README.md)."""

from qdrant_client import QdrantClient

from kb.settings import load_settings
from kb.store.server import ServerStore


def test_collection_options_from_the_environment(monkeypatch, tmp_path):
    assert load_settings(kb_dir=tmp_path).collection_options() == {}
    monkeypatch.setenv("KB_QDRANT_SHARDS", "6")
    monkeypatch.setenv("KB_QDRANT_REPLICATION_FACTOR", "2")
    monkeypatch.setenv("KB_QDRANT_WRITE_CONSISTENCY", "2")
    assert load_settings(kb_dir=tmp_path).collection_options() == {
        "shard_number": 6, "replication_factor": 2, "write_consistency_factor": 2
    }


def test_server_store_passes_them_to_create_collection_only(monkeypatch):
    seen: list[dict] = []
    real = QdrantClient.create_collection

    def spy(self, name, **kwargs):
        seen.append(kwargs)
        return real(self, name, **kwargs)

    monkeypatch.setattr(QdrantClient, "create_collection", spy)
    client = QdrantClient(location=":memory:")
    ServerStore(None, "c", 8, client=client, create_options={"shard_number": 6, "replication_factor": 2})
    ServerStore(None, "c", 8, client=client, create_options={"shard_number": 3})  # exists: not re-created
    assert len(seen) == 1 and seen[0]["shard_number"] == 6 and seen[0]["replication_factor"] == 2
    client.close()

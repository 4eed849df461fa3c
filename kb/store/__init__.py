"""Vector stores behind one protocol, opened through one entry point."""

from __future__ import annotations

from kb.errors import ConfigError
from kb.store.filters import DENSE, KEPT, LIVE, SPARSE, PointData, PointFilter, StoredPoint
from kb.store.protocol import VectorStore

__all__ = [
    "DENSE",
    "KEPT",
    "LIVE",
    "SPARSE",
    "PointData",
    "PointFilter",
    "StoredPoint",
    "VectorStore",
    "check_store_free",
    "open_store",
]


def check_store_free(settings) -> None:
    """Fail at once with "in use by pid N" if another process holds the embedded store.

    Cheap (no model, no shard): writers call it before parsing or embedding anything.
    """
    if settings.store != "edge":
        return
    from kb.store.edge import ShardLock

    ShardLock(settings.shard_path).probe()


def open_store(settings, dim: int, encoder: str | None = None) -> VectorStore:
    """Open the configured store: the embedded Edge shard, or a Qdrant server.

    `encoder` names the embedder that makes the vectors; the Edge store records it and refuses
    a shard another encoder made.
    """
    if settings.store == "edge":
        if settings.qdrant_url:
            raise ConfigError(
                "QDRANT_URL is set but KB_STORE=edge. Set KB_STORE=server to use the server, "
                "or unset QDRANT_URL."
            )
        from kb.store.edge import EdgeStore

        return EdgeStore(settings.shard_path, dim, encoder=encoder,
                         quantization=getattr(settings, "edge_quantization", "none"))
    if settings.store == "server":
        from kb.store.server import ServerStore

        return ServerStore(
            settings.qdrant_url, settings.collection, dim, settings.qdrant_api_key,
            create_options=settings.collection_options(),
        )
    raise ConfigError(f"Unknown store {settings.store!r}: use edge or server.")

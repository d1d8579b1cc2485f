"""The model runtime in the worker process: one model and its context, loaded, asked for replies
and unloaded, through llama-cpp-python's low-level API.

A facade over loader.py (the model, its context and template) and generate.py (the prompt after
the KV cache's shared prefix, the sampler and the token loop); llama_log.py keeps llama.cpp's log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import llama_cpp as L

from app.core.options import LoadOptions, SamplingOptions
from app.core.quality.stats import QualityResult
from app.engine import generate as G
from app.engine.events import GenerationStats, ModelInfo, StartedInfo
from app.engine.llama_log import LogCapture
from app.engine.loader import LoadedModel, check_model, load_model
from app.engine.protocol import EngineError, ErrorCode


def _go_on(_fraction: float) -> bool:
    return True


class Runtime:
    """One loaded model and its context; used from one thread only."""

    def __init__(self, log: LogCapture | None = None) -> None:
        L.llama_backend_init()
        self.log = log or LogCapture()
        self.loaded: LoadedModel | None = None
        self._generator = G.Generator()

    @property
    def cache_tokens(self) -> list[int]:
        """What the KV cache holds (no tokens when nothing is loaded)."""
        return self.loaded.cache_tokens if self.loaded is not None else []

    def load(
        self,
        path: str,
        options: LoadOptions,
        progress: Callable[[float], bool] = lambda f: True,
    ) -> ModelInfo:
        """Load ``path`` in place of what was loaded; ``progress(fraction)`` returning False
        cancels the load.

        A file that is not a whole model is refused before anything is unloaded. When llama.cpp
        itself fails (or the load is cancelled) after the previous model was unloaded, that model
        is loaded again (``loaded_info`` says what is loaded afterwards).
        """
        checked = check_model(path)
        previous = self.loaded
        self.unload()
        try:
            self.loaded = load_model(path, options, self.log, progress, checked)
        except EngineError:
            if previous is not None:
                try:
                    self.loaded = load_model(previous.path, previous.options, self.log, _go_on)
                except EngineError:
                    self.loaded = None
            raise
        return self.loaded.info

    def loaded_info(self) -> ModelInfo | None:
        return self.loaded.info if self.loaded is not None else None

    def unload(self) -> None:
        if self.loaded is not None:
            self.loaded.free()
            self.loaded = None

    def tokenize(self, text: str) -> list[int]:
        return G.tokenize(self._need_model(), text)

    def generate(
        self,
        messages: list[dict[str, str]],
        sampling: SamplingOptions,
        emit: Callable[[str, str | None], None],
        should_stop: Callable[[], bool],
        on_started: Callable[[StartedInfo], None] = lambda info: None,
        template_kwargs: dict[str, Any] | None = None,
        raw_prompt: str | None = None,
    ) -> tuple[str, GenerationStats]:
        """Reply to ``messages`` (or continue ``raw_prompt`` as it is); ``emit(text, channel)``
        gets text as it is produced (channel ``"reasoning"`` for thinking, None for the answer).
        Returns (text, stats)."""
        lm = self._need_model()
        return self._generator.generate(
            lm, messages, sampling, emit, should_stop, on_started, template_kwargs, raw_prompt
        )

    def measure_quality(self, **kwargs: Any) -> QualityResult:
        """Perplexity (and KL divergence against a reference): see quality.measure. The chat
        model stays loaded; the models measured get contexts of their own."""
        from app.engine.quality import measure

        return measure(log=self.log, **kwargs)

    def quantize(self, **kwargs: Any) -> dict[str, Any]:
        """Make a quant with llama.cpp's quantizer: see quantize.quantize."""
        from app.engine.quantize import quantize

        return quantize(log=self.log, **kwargs)

    def _need_model(self) -> LoadedModel:
        if self.loaded is None:
            raise EngineError(ErrorCode.NOT_LOADED, "No model is loaded")
        return self.loaded

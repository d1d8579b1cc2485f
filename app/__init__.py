"""Hearth: private, offline chat with quantized GGUF language models."""

__version__ = "0.1.0"

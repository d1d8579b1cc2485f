"""Hearth: private, offline chat with quantized GGUF language models."""

__version__ = "0.1.0"
APP_ID = "io.hearth.Hearth"  # desktop file, icon, AppStream and macOS bundle identifier

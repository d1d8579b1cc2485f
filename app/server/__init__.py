"""The local API: OpenAI- and Ollama-compatible HTTP routes on a model Hearth has loaded."""

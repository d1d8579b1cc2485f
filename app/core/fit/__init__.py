"""Will it fit: model shapes and families, buffer arithmetic, placement and verdicts, hardware."""

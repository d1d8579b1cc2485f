"""Shared window parts: background tasks, the message channel, theme, markdown, option forms."""

"""Conversations: the store and its recovery, templates, the context rule, recording, export."""

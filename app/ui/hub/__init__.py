"""The Hub page: search, a repository's quants, downloads panel, Hub settings."""

"""The model library: the index of folders and files, lookup by name, the bundled starter model."""

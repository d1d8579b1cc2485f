"""The memory-fit meter and the Load options dialog."""

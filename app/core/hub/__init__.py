"""The Hugging Face Hub: client, remote fit verdicts, downloads and their queue, the token."""

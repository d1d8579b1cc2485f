"""GGUF files: the header reader, model facts from headers, file-name parser and quant table."""

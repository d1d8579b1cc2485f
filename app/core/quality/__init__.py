"""What a quant costs in quality: perplexity and KL divergence against a reference, and making
quants with llama.cpp's quantizer (the arithmetic and the rules; the engine runs the models)."""

"""Quality in the GUI: the quality-versus-memory plot, quantizing and comparing quants."""

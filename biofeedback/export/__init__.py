"""Store-backed export services (the file formats are :mod:`biofeedback.io.exporters`)."""

"""One module per tool whose files are imported; see :mod:`biofeedback.io.importers`."""

"""File formats: readers of other tools' files (:mod:`biofeedback.io.importers`) and writers."""

"""Built-in protocol files (package data read by :mod:`protocols.library`)."""

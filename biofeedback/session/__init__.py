"""The live session: the chain from a source to the store and the subscribers."""

"""`new`: plan a release from an image stream, a release or a directory, then push or write its payload."""

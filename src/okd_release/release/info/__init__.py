"""`info`: what a release holds, and what changed between two releases."""

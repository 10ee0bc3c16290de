"""Release payload logic: read payloads, info and diffs, new, extract, mirror, and the sample payload."""

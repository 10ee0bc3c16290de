"""`mirror`: copy a release and its images to a registry or a directory and back; the mirror configuration."""

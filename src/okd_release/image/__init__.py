"""The image model: manifests, indexes, configs, layers and on-disk stores; exact bytes are kept."""

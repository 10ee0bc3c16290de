"""The payload format and how to open one: image-references, release-metadata, manifests, component images."""

"""`extract`: the release manifests, single files, and the `oc`/`openshift-install` binaries pinned to the release."""

"""The cluster-version operator's view of a payload: which manifests apply to a cluster, in what order, and
what an update changes (`extract --included`, `plan`, `lint`)."""

"""For demos, tests and benchmarks, not the library core: a throwaway local registry and a synthetic sample release."""

"""okd-release: inspect, build, extract and mirror OKD/OpenShift release payloads."""

__version__ = "0.1.0"

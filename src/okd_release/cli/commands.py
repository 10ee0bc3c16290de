"""The commands of `okd-release`, each imported only when it runs: `okd-release info` loads only what info needs."""

from __future__ import annotations

import importlib

from okd_release.cli.declare import Command

# name -> (module, attribute, one-line help)
COMMANDS = {
    "info": ("okd_release.cli.info", "info_command", "Show a release: metadata, components, images, or what changed."),
    "new": ("okd_release.cli.new", "new_command", "Build a release payload and push it or write it to disk."),
    "extract": ("okd_release.cli.extract", "extract_command", "Write a release's manifests, one file, or its tools."),
    "mirror": ("okd_release.cli.mirror", "mirror_command", "Copy a release and its images to a registry or a directory."),
    "plan": ("okd_release.cli.plan", "plan_command", "The order in which the CVO applies a release, and what an update changes."),
    "lint": ("okd_release.cli.plan", "lint_command", "Find manifests the CVO would reject or mishandle."),
    "verify": ("okd_release.cli.verify", "verify_command", "Check a release's signatures as the cluster-version operator does."),
    "source": ("okd_release.cli.source", "source_command", "Show the source of one image of a release and how to get it."),
    "image": ("okd_release.cli.image", "image_group", "Inspect or copy one image or manifest list."),
    "sample": ("okd_release.cli.sample", "sample_command", "Push a synthetic sample release's images (for demos and tests)."),
    "demo": ("okd_release.cli.demo", "demo_command", "Run info, new, extract and mirror on a throwaway local registry."),
    "completion": ("okd_release.cli.completion", "completion_command", "Print the shell completion script (bash, zsh, fish)."),
}


def lookup(name: str) -> Command | None:
    """The declared command `name`, its module imported; None for a name that is no command."""
    if name not in COMMANDS:
        return None
    module, attribute, _ = COMMANDS[name]
    command: Command = getattr(importlib.import_module(module), attribute)
    return command

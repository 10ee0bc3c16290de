"""A plan as text, as JSON-ready values, and as a picture of its steps (Graphviz DOT, Mermaid)."""

from __future__ import annotations

from typing import Any

from okd_release.release.cvo.graph import Node, Plan
from okd_release.release.cvo.inclusion import ClusterConfig
from okd_release.release.cvo.objects import ManifestObject


def describe_config(config: ClusterConfig) -> str:
    parts = [f"profile {config.profile or '(any)'}", f"feature set {config.feature_set or '(any)'}"]
    if config.capabilities is not None:
        parts.append(f"capabilities {','.join(sorted(config.capabilities.enabled)) or '(none)'}")
    else:
        parts.append("all capabilities")
    return ", ".join(parts)


def _node_title(node: Node) -> str:
    if node.component:
        return f"{node.run_level} {node.component}"
    levels = sorted({obj.file.split("_")[1] for obj in node.objects if obj.file.startswith("0000_")})
    return f"{'-'.join(levels[:1] + levels[-1:] if len(levels) > 1 else levels) or 'unnumbered'} (serial)"


def text(plan: Plan, name: str, config: ClusterConfig) -> str:
    objects = plan.objects()
    count = f"{len(plan.steps)} step{'s' if len(plan.steps) != 1 else ''}"
    lines = [f"Release {name}: {len(objects)} objects in {count} ({describe_config(config)})", ""]
    for number, step in enumerate(plan.steps, 1):
        if step.parallel:
            lines.append(f"Step {number}: {len(step.nodes)} components in parallel")
            for node in step.nodes:
                lines.append(f"  {_node_title(node)}")
                lines.extend(f"    {_object_line(obj)}" for obj in node.objects)
        else:
            node = step.nodes[0]
            lines.append(f"Step {number}: {_node_title(node)}")
            lines.extend(f"  {_object_line(obj)}" for obj in node.objects)
        lines.append("")
    if plan.excluded:
        lines.append(f"Excluded ({len(plan.excluded)}):")
        lines.extend(f"  {entry.object.id}  {entry.object.file}: {entry.reason}" for entry in plan.excluded)
    return "\n".join(lines).rstrip() + "\n"


def _object_line(obj: ManifestObject) -> str:
    return f"{obj.id}  ({obj.file})"


def object_json(obj: ManifestObject) -> dict[str, Any]:
    value: dict[str, Any] = {"file": obj.file, "apiVersion": obj.api_version, "kind": obj.kind, "name": obj.id.name}
    if obj.id.namespace:
        value["namespace"] = obj.id.namespace
    return value


def as_json(plan: Plan, name: str, config: ClusterConfig) -> dict[str, Any]:
    return {
        "release": name,
        "cluster": {
            "profile": config.profile, "featureSet": config.feature_set,
            "capabilities": sorted(config.capabilities.enabled) if config.capabilities is not None else None,
        },
        "steps": [
            {"parallel": step.parallel, "nodes": [
                {"runLevel": node.run_level, "component": node.component,
                 "objects": [object_json(obj) for obj in node.objects]} for node in step.nodes]}
            for step in plan.steps
        ],
        "excluded": [{**object_json(entry.object), "reason": entry.reason} for entry in plan.excluded],
    }


def _label(node: Node) -> str:
    return f"{_node_title(node)}\\n{len(node.objects)} object{'s' if len(node.objects) != 1 else ''}"


def dot(plan: Plan, name: str) -> str:
    """Graphviz: one box per node, steps joined through a point so that parallel nodes share one barrier."""
    lines = [f'digraph "{name}" {{', "  rankdir=TB;", '  node [shape=box, fontname="sans-serif"];']
    previous = "start"
    lines.append('  start [shape=circle, label="", width=0.2];')
    for number, step in enumerate(plan.steps, 1):
        barrier = f"after{number}"
        for index, node in enumerate(step.nodes):
            ident = f"s{number}n{index}"
            lines.append(f'  {ident} [label="{_escape(_label(node))}"];')
            lines.append(f"  {previous} -> {ident};")
            lines.append(f"  {ident} -> {barrier};")
        lines.append(f'  {barrier} [shape=point, width=0.05];')
        previous = barrier
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid(plan: Plan) -> str:
    lines = ["flowchart TD", "  start(( ))"]
    previous = "start"
    for number, step in enumerate(plan.steps, 1):
        barrier = f"after{number}"
        for index, node in enumerate(step.nodes):
            ident = f"s{number}n{index}"
            label = _label(node).replace("\\n", "<br/>").replace('"', "'")
            lines.append(f'  {ident}["{label}"]')
            lines.append(f"  {previous} --> {ident}")
            lines.append(f"  {ident} --> {barrier}")
        lines.append(f"  {barrier}(( ))")
        previous = barrier
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace('"', '\\"')

"""Write the diagram of every loaded definition: ``python -m adapters.diagrams OUT``.

For each definition (its newest version) ``OUT/<id>.md`` holds the Mermaid diagram in a fenced
block and the table of its clocks (limits, commitments, status, basis); where graphviz's ``dot``
is installed, ``OUT/<id>.svg`` too. Everything is rendered from the same definition files the
engine loads (``--definitions`` to choose others), so regenerating is this one command.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from workflow.definition import Definition
from workflow.diagram import limits_table, to_dot, to_mermaid
from workflow.registry import Registry

from .bootstrap import bundled_definitions


def markdown(defn: Definition, svg: bool = False) -> str:
    """The page of one definition: title, description, Mermaid block, clocks table."""
    lines = [
        f"# {defn.name} (`{defn.id}` v{defn.version})",
        "",
        f"{defn.kind}. Rendered from `definitions/{defn.id}.yaml` by `python -m adapters.diagrams "
        "docs/diagrams`; do not edit by hand.",
        "",
    ]
    if defn.description:
        lines += [defn.description.strip(), ""]
    if svg:
        lines += [f"![{defn.id}]({defn.id}.svg)", ""]
    lines += ["```mermaid", to_mermaid(defn).rstrip("\n"), "```", "", "## Clocks", "", limits_table(defn)]
    if defn.legal_basis:
        lines += ["## Legal basis", "", *(f"- {b}" for b in defn.legal_basis), ""]
    return "\n".join(lines)


def write_diagrams(out: Path, definitions: Iterable[Definition], dot: str | None = None) -> list[Path]:
    """Write ``<id>.md`` (and ``<id>.svg`` with ``dot``) for each definition; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for defn in definitions:
        if dot is not None:
            svg = out / f"{defn.id}.svg"
            result = subprocess.run([dot, "-Tsvg"], input=to_dot(defn).encode("utf-8"),
                                    capture_output=True, check=True)
            svg.write_bytes(result.stdout)
            written.append(svg)
        page = out / f"{defn.id}.md"
        page.write_text(markdown(defn, svg=dot is not None), encoding="utf-8")
        written.append(page)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.diagrams", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write into (e.g. docs/diagrams)")
    parser.add_argument("--definitions", "-d", type=Path, action="append",
                        help="definition files or folders (default: the bundled ones)")
    parser.add_argument("--no-svg", action="store_true", help="skip the SVGs even where dot is installed")
    args = parser.parse_args(argv)
    registry = Registry()
    registry.load(args.definitions or [bundled_definitions()])
    dot = None if args.no_svg else shutil.which("dot")
    for path in write_diagrams(args.out, registry.latest(), dot):
        print(path)
    if dot is None and not args.no_svg:
        print("graphviz `dot` not found: Markdown only", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

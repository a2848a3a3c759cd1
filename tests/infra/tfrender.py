"""A tiny Terraform evaluator for the tests: references only (``var.``, ``local.``, ``module.``,
resource attributes), enough to render what the example writes into SSM from its inputs and from
what AWS computes (queue URLs), as ``terraform apply`` would. Anything else it meets (a
function call) raises, unless the caller gave its value, so a changed expression fails a test
instead of being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

TF = Path(__file__).resolve().parents[2] / "terraform"
OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
INTERPOLATION = re.compile(r"\$\{([^{}]+)\}")
REFERENCE = re.compile(r"^(var|local|module|aws_[a-z0-9_]+)\.[A-Za-z0-9_.]+$")


@cache
def load(path: Path) -> dict[str, Any]:
    """One .tf (or .tfvars) file parsed, strings without their quotes."""
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=OPTIONS)


def blocks(directory: Path, kind: str) -> dict[str, Any]:
    """Every ``kind`` block (variable, output, module, locals...) of a directory's .tf files, by name."""
    out: dict[str, Any] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in load(path).get(kind, []):
            out.update(block)
    return out


def resources(directory: Path, kind: str) -> dict[str, Any]:
    """The resources of one type in a directory, by name."""
    out: dict[str, Any] = {}
    for path in sorted(directory.glob("*.tf")):
        for block in load(path).get("resource", []):
            out.update(block.get(kind, {}))
    return out


@dataclass
class Scope:
    """A module instance: its directory, the arguments it was called with, and computed attributes."""

    directory: Path
    arguments: dict[str, Any] = field(default_factory=dict)
    computed: dict[str, Any] = field(default_factory=dict)  # "aws_sqs_queue.this.id" -> value
    children: dict[str, Scope] = field(default_factory=dict)

    def child(self, name: str) -> Scope:
        """The scope of ``module.<name>`` called from here."""
        if name not in self.children:
            call = blocks(self.directory, "module")[name]
            directory = (self.directory / call["source"]).resolve()
            args = {k: v for k, v in call.items() if k != "source"}
            self.children[name] = Scope(directory, {k: (self, v) for k, v in args.items()})
        return self.children[name]

    def variable(self, name: str) -> Any:
        if name in self.arguments:
            parent, expression = self.arguments[name]
            return parent.render(expression)
        declared = blocks(self.directory, "variable")[name]
        if "default" not in declared:
            raise KeyError(f"var.{name} of {self.directory.name} has no value and no default")
        return declared["default"]

    def reference(self, ref: str) -> Any:
        """The value of one reference."""
        if ref in self.computed:
            return self.computed[ref]
        head, *rest = ref.split(".")
        if head == "var":
            return self.variable(rest[0])
        if head == "local":
            return self.render(blocks(self.directory, "locals")[rest[0]])
        if head == "module":
            child = self.child(rest[0])
            return child.render(blocks(child.directory, "output")[rest[1]]["value"])
        return self.render(resources(self.directory, head)[rest[0]][rest[1]])

    def render(self, value: Any) -> Any:
        """``value`` with every reference replaced; strings, lists and maps alike."""
        if isinstance(value, dict):
            return {k: self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, str):
            return value
        whole = INTERPOLATION.fullmatch(value)
        if whole:
            return self._expression(whole.group(1).strip())
        return INTERPOLATION.sub(lambda m: str(self._expression(m.group(1).strip())), value)

    def _expression(self, expression: str) -> Any:
        if expression in self.computed:
            return self.computed[expression]
        if not REFERENCE.match(expression):
            raise ValueError(f"cannot evaluate {expression!r} in {self.directory.name}: give its value")
        return self.reference(expression)


def root(directory: Path, values: dict[str, Any], computed: dict[str, Any] | None = None) -> Scope:
    """The root module called with ``values`` (a .tfvars file's, say)."""
    scope = Scope(directory, computed=computed or {})
    scope.arguments = {name: (scope, value) for name, value in values.items()}
    return scope

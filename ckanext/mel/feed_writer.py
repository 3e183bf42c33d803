"""Turtle and JSON-LD written straight from a feed's graph.

rdflib's own serialisers spend more time than it takes to build the graph: the
Turtle one computes a prefixed name for every term of every triple (twice) and
sorts everything, the JSON-LD one walks the graph once per subject and value.
A feed needs neither: these writers go once through the triples, grouped by
subject in the order they were added (the catalogue, then each dataset with its
distributions), with prefixed names for predicates, classes and datatypes and
full IRIs for everything else. The documents mean the same graph (the feed tests
parse them back); blank nodes are labelled (`_:b0`) rather than nested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
# What an IRIREF may not hold unescaped (Turtle 1.1, production [18]).
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _by_subject(graph: Graph) -> dict[Node, dict[Node, list[Node]]]:
    subjects: dict[Node, dict[Node, list[Node]]] = {}
    for subject, predicate, value in graph.triples((None, None, None)):
        subjects.setdefault(subject, {}).setdefault(predicate, []).append(value)
    return subjects


class _Names:
    """Prefixed names for the graph's bound namespaces, and blank node labels."""

    def __init__(self, graph: Graph) -> None:
        self.prefixes = {str(namespace): prefix for prefix, namespace in graph.namespaces() if prefix}
        self.used: dict[str, str] = {}
        self.names: dict[Node, str] = {}
        self.blanks: dict[Node, str] = {}

    def blank(self, node: Node) -> str:
        label = self.blanks.get(node)
        if label is None:
            label = self.blanks[node] = f"_:b{len(self.blanks)}"
        return label

    def iri(self, node: Node) -> str:
        """`prefix:name` when the IRI is in a bound namespace, `<iri>` otherwise."""
        name = self.names.get(node)
        if name is None:
            name = self.names[node] = self._prefixed(str(node)) or _iri(str(node))
        return name

    def _prefixed(self, uri: str) -> str | None:
        cut = max(uri.rfind("#"), uri.rfind("/")) + 1
        prefix = self.prefixes.get(uri[:cut])
        if prefix is None or not _LOCAL_NAME.match(uri, cut):
            return None
        self.used[prefix] = uri[:cut]
        return f"{prefix}:{uri[cut:]}"


def _iri(uri: str) -> str:
    if _NOT_IN_IRI.search(uri):
        uri = _NOT_IN_IRI.sub(lambda found: f"%{ord(found[0]):02X}", uri)
    return f"<{uri}>"


def turtle(graph: Graph) -> str:
    names = _Names(graph)

    def term(node: Node) -> str:
        if isinstance(node, Literal):
            text = f'"{str(node).translate(_STRING_ESCAPES)}"'
            if node.language:
                return f"{text}@{node.language}"
            if node.datatype:
                return f"{text}^^{names.iri(node.datatype)}"
            return text
        if isinstance(node, BNode):
            return names.blank(node)
        return _iri(str(node))

    blocks = []
    for subject, predicates in _by_subject(graph).items():
        lines = []
        types = predicates.pop(RDF.type, None)
        if types:
            lines.append("a " + ", ".join(names.iri(t) if isinstance(t, URIRef) else term(t) for t in types))
        for predicate, values in predicates.items():
            lines.append(f"{names.iri(predicate)} " + ",\n        ".join(term(value) for value in values))
        blocks.append(f"{term(subject)} " + " ;\n    ".join(lines) + " .\n")
    header = "".join(f"@prefix {prefix}: <{uri}> .\n" for prefix, uri in sorted(names.used.items()))
    return header + "\n" + "\n".join(blocks)


def jsonld(graph: Graph) -> str:
    """Expanded JSON-LD (no context), the form rdflib writes for ckanext-dcat's feeds."""
    names = _Names(graph)

    def identifier(node: Node) -> str:
        return names.blank(node) if isinstance(node, BNode) else str(node)

    def value(node: Node) -> dict[str, str]:
        if isinstance(node, Literal):
            if node.language:
                return {"@language": node.language, "@value": str(node)}
            if node.datatype:
                return {"@type": str(node.datatype), "@value": str(node)}
            return {"@value": str(node)}
        return {"@id": identifier(node)}

    nodes = []
    for subject, predicates in _by_subject(graph).items():
        node: dict[str, object] = {"@id": identifier(subject)}
        types = predicates.pop(RDF.type, None)
        if types:
            node["@type"] = [identifier(kind) for kind in types]
        for predicate, values in predicates.items():
            node[str(predicate)] = [value(each) for each in values]
        nodes.append(node)
    return json.dumps(nodes, ensure_ascii=False, separators=(",", ":"))


# By rdflib's format names, as ckanext-dcat asks for them.
WRITERS: dict[str, Callable[[Graph], str]] = {"turtle": turtle, "ttl": turtle, "json-ld": jsonld}


class FeedGraph(Graph):
    """A graph that writes itself with the writers above in Turtle and JSON-LD, with rdflib otherwise.

    (rdflib's SimpleMemory store would add and read triples faster, but ckanext-dcat's
    DCAT-AP 3 profile changes the graph while it iterates over it, which only the
    default store allows.)
    """

    def serialize(  # type: ignore[override]
        self,
        destination: Any = None,
        format: str = "turtle",  # noqa: A002 - rdflib's name
        base: str | None = None,
        encoding: str | None = None,
        **args: Any,
    ) -> Any:
        writer = WRITERS.get(format)
        if writer is None or destination is not None or base is not None or encoding is not None or args:
            return super().serialize(destination, format, base, encoding, **args)
        return writer(self)

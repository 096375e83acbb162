"""Graph, Node, Edge: a model's graph built by hand, stored as wandb's ``graph-file``.

The file is ``{"format": ..., "nodes": [node attributes...], "edges": [[from id, to id]...]}``,
the shape ``watch(log_graph=True)`` writes for torch models (docs/media.md, "watch()").
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import MediaError
from .base import Media

if TYPE_CHECKING:
    from ..blobs import BlobStore

_NODE_FIELDS = (
    "id",
    "name",
    "class_name",
    "size",
    "parameters",
    "output_shape",
    "is_output",
    "num_parameters",
)


class Node:
    """One node of a Graph: its attributes (``id``, ``name``, ``class_name``, ``size``,
    ``parameters``, ``output_shape``, ``is_output``, ``num_parameters``...) as wandb's Node."""

    def __init__(
        self,
        id: Any = None,  # noqa: A002 (wandb's argument name)
        name: Any = None,
        class_name: Any = None,
        size: Any = None,
        parameters: Any = None,
        output_shape: Any = None,
        is_output: Any = None,
        num_parameters: Any = None,
        node: Node | None = None,
    ):
        self._attributes: dict[str, Any] = {"name": None}
        if node is not None:  # a copy of another node, without its id
            self._attributes.update(node._attributes)
            self._attributes.pop("id", None)
        given = dict(
            id=id,
            name=name,
            class_name=class_name,
            size=size,
            parameters=parameters,
            output_shape=output_shape,
            is_output=is_output,
            num_parameters=num_parameters,
        )
        for key, value in given.items():
            if value is not None:
                setattr(self, key, value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        if key in ("functions", "parameters"):
            return self.__dict__["_attributes"].get(key, [])
        return self.__dict__["_attributes"].get(key)

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
        elif key == "size":
            self._attributes["size"] = tuple(value)
        else:
            self._attributes[key] = value

    def to_json(self, run: Any = None) -> dict[str, Any]:
        return self._attributes

    def __repr__(self) -> str:
        return repr(self._attributes)


class Edge:
    """An edge of a Graph, from one Node to another; its JSON is ``[from id, to id]``."""

    def __init__(self, from_node: Node, to_node: Node):
        self.from_node = from_node
        self.to_node = to_node
        self.name: str | None = None

    def to_json(self, run: Any = None) -> list:
        return [self.from_node.id, self.to_node.id]

    def __repr__(self) -> str:
        return f"<Edge {self.from_node.id!r} -> {self.to_node.id!r}>"


class Graph(Media):
    """A graph of nodes and edges, logged as wandb's ``graph-file``.

    ``Graph(format="keras")``; ``add_node(node)`` (or ``add_node(id=..., name=...)``),
    ``add_edge(from_node, to_node)``; ``graph[id]`` is the node with that id.
    """

    _type = "graph-file"

    def __init__(self, format: str = "keras"):  # noqa: A002 (wandb's argument name)
        self.format = format
        self.nodes: list[Node] = []
        self.nodes_by_id: dict[Any, Node] = {}
        self.edges: list[Edge] = []

    def add_node(self, node: Node | None = None, **node_kwargs: Any) -> Node:
        if node is None:
            node = Node(**node_kwargs)
        elif node_kwargs:
            raise MediaError(
                f"Graph.add_node(): pass either a node or its attributes, not both ({sorted(node_kwargs)})"
            )
        self.nodes.append(node)
        self.nodes_by_id[node.id] = node
        self.__dict__.pop("_lr_json", None)
        return node

    def add_edge(self, from_node: Node, to_node: Node) -> Edge:
        edge = Edge(from_node, to_node)
        self.edges.append(edge)
        self.__dict__.pop("_lr_json", None)
        return edge

    def __getitem__(self, nid: Any) -> Node:
        return self.nodes_by_id[nid]

    def _to_graph_json(self, run: Any = None) -> dict[str, Any]:
        return {
            "format": self.format,
            "nodes": [node.to_json() for node in self.nodes],
            "edges": [edge.to_json() for edge in self.edges],
        }

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        from ..values import normalize

        body = normalize(self._to_graph_json(), store, "Graph")
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return {"_type": "graph-file", **store.put(text.encode("utf-8"), "graph.json")}

    def __repr__(self) -> str:
        return f"<localrun.Graph {len(self.nodes)} nodes, {len(self.edges)} edges>"

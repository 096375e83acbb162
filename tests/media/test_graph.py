"""Graph, Node, Edge: a graph built by hand, stored as wandb's graph-file."""

from __future__ import annotations

import json

import pytest

import localrun
from localrun import data_types

from .readback import file_of, last


def test_a_graph_of_two_nodes(run):
    graph = localrun.Graph()
    a = data_types.Node("a", "Node A", size=(4,))
    b = data_types.Node("b", "Node B", size=(16,))
    graph.add_node(a)
    graph.add_node(b)
    graph.add_edge(a, b)
    assert graph._to_graph_json() == {
        "edges": [["a", "b"]],
        "format": "keras",
        "nodes": [
            {"id": "a", "name": "Node A", "size": (4,)},
            {"id": "b", "name": "Node B", "size": (16,)},
        ],
    }
    assert graph["b"] is b and b.size == (16,) and b.parameters == []
    localrun.log({"graph": graph})
    value = last(run, "graph")
    assert value["_type"] == "graph-file" and value["path"].endswith(".graph.json")
    assert json.loads(file_of(run, value).read_text()) == {
        "format": "keras",
        "nodes": [
            {"name": "Node A", "id": "a", "size": [4]},
            {"name": "Node B", "id": "b", "size": [16]},
        ],
        "edges": [["a", "b"]],
    }


def test_add_node_by_attributes_and_not_both():
    graph = localrun.Graph(format="torch")
    node = graph.add_node(id=1, name="fc", class_name="Linear", num_parameters=12)
    assert node.class_name == "Linear" and graph[1] is node
    with pytest.raises(ValueError, match="not both"):
        graph.add_node(node, name="x")

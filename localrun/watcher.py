"""``watch()`` and ``unwatch()``: histograms of a torch model's parameters and gradients.

What is recorded is what ``wandb.watch`` records, under wandb's keys:

- ``parameters/<prefix><name>``: a 64-bin histogram of each parameter, from a forward hook on
  the model. It counts the model's forward calls: the ``log_freq``-th call logs, then the
  ``2*log_freq``-th, and so on (the first call logs only when ``log_freq`` is 1).
- ``gradients/<prefix><name>``: a 64-bin histogram of the gradient of each parameter that
  requires grad, from a hook on that parameter. Each parameter counts the backward passes
  that reach it, with the same rule.
- ``<prefix>`` is empty for the first model a run watches and ``graph_<idx>`` for the others
  (``gradients/graph_1weight``: wandb's names, without a separator). ``idx`` is counted per
  watched model, or given by ``watch(idx=...)``. wandb counts it per process; localrun counts
  it per run, so every run's first model has no prefix.
- ``log_graph=True``: the module tree (see ``_ModuleGraph``) goes into the summary as
  ``graph_<idx>``, a ``graph-file`` media value, when the model's first forward call ends.

Every histogram is logged with ``commit=False``, as wandb does: it joins the row the training
loop commits with its next ``log()``. Values are detached and binned at once; no tensor is kept.
torch is imported when ``watch()`` is called, never by ``import localrun``.
"""

from __future__ import annotations

import json
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

from . import terminal
from .errors import UsageError, ValueTypeError
from .media.base import Media

if TYPE_CHECKING:
    from .blobs import BlobStore
    from .run import Run

NUM_BINS = 64
LOG_CHOICES = ("gradients", "parameters", "all", None)
# Modules whose children wandb's graph lists in their place (they hold layers, do no work).
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


def watch(
    models: Any,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> list:
    """Watch ``models`` in the current run; see ``Run.watch``."""
    run = sys.modules["localrun"].run
    if run is None:
        raise UsageError(
            "localrun.watch() was called before localrun.init(). Call localrun.init() first"
        )
    return run.watch(models, criterion, log, log_freq, idx, log_graph)


def unwatch(models: Any = None) -> None:
    """Remove the hooks ``watch()`` put on ``models`` (on every model when None); see ``Run.unwatch``."""
    run = sys.modules["localrun"].run
    if run is None:
        raise UsageError(
            "localrun.unwatch() was called before localrun.init(). Call localrun.init() first"
        )
    run.unwatch(models)


class _Every:
    """True on every ``n``-th call: the n-th, the 2n-th... (wandb's count, so the same batches log)."""

    __slots__ = ("n", "count")

    def __init__(self, n: int):
        self.n = n
        self.count = 0

    def due(self) -> bool:
        self.count += 1
        if self.count < self.n:
            return False
        self.count = 0
        return True


class Watcher:
    """The hooks one run has put on models, by wandb's hook names.

    The run holds its Watcher (``Run._watching()``) and removes its hooks when it finishes."""

    def __init__(self, run: Run):
        # A weak reference: hooks live as long as the model, and must not keep the run alive.
        self._run_ref = weakref.ref(run)
        self._lock = threading.Lock()
        self._handles: dict[str, Any] = {}  # hook name -> torch RemovableHandle
        self._names: weakref.WeakKeyDictionary = (
            weakref.WeakKeyDictionary()
        )  # model -> its hook names
        self._next_idx = 0

    def watch(
        self,
        models: Any,
        criterion: Any,
        log: str | None,
        log_freq: int,
        idx: int | None,
        log_graph: bool,
    ) -> list:
        if log not in LOG_CHOICES:
            raise ValueTypeError(
                f"watch(log={log!r}) is not understood: use 'gradients', 'parameters', 'all' or None"
            )
        if not isinstance(log_freq, int) or isinstance(log_freq, bool) or log_freq < 1:
            raise ValueTypeError(
                f"watch(log_freq={log_freq!r}): log_freq must be a positive int (batches between logs)"
            )
        if idx is not None and (not isinstance(idx, int) or isinstance(idx, bool) or idx < 0):
            raise ValueTypeError(f"watch(idx={idx!r}): idx must be None or an int >= 0")
        models = tuple(models) if isinstance(models, (tuple, list)) else (models,)
        try:
            import torch
        except ImportError as exc:
            raise ValueTypeError(
                "watch() hooks into torch models, and torch cannot be imported here. Install torch"
            ) from exc
        for model in models:
            if not isinstance(model, torch.nn.Module):
                t = type(model)
                named = (
                    t.__qualname__
                    if t.__module__ == "builtins"
                    else f"{t.__module__}.{t.__qualname__}"
                )
                raise ValueTypeError(
                    f"watch() takes a torch.nn.Module or a list of them, not {named}. "
                    "Pass the model itself"
                )
        with self._lock:
            if idx is None:
                idx = self._next_idx
            plans = []
            for offset, model in enumerate(models):
                graph_idx = idx + offset
                prefix = f"graph_{graph_idx}" if graph_idx > 0 else ""
                plan = self._plan(model, prefix, log)
                wanted = plan[1] + ([f"topology/{graph_idx}"] if log_graph else [])
                taken = [name for name in wanted if name in self._handles]
                if taken:
                    raise UsageError(
                        f"watch(): this run already has hooks named {taken[:3]!r}. "
                        "Call unwatch(model) first, or pass another idx="
                    )
                plans.append((model, graph_idx, prefix, plan))
            self._next_idx += len(
                models
            )  # as wandb: every watched model counts, whatever idx was given
            graphs = []
            for model, graph_idx, prefix, (params, _) in plans:
                hooks: dict[str, Any] = {}
                if log in ("parameters", "all"):
                    hooks[f"parameters/{prefix}"] = model.register_forward_hook(
                        self._parameter_hook(prefix, log_freq)
                    )
                for name, parameter in params:
                    key = f"gradients/{prefix}{name}"
                    hooks[key] = parameter.register_hook(self._gradient_hook(key, log_freq))
                if log_graph:
                    graph = _ModuleGraph(graph_idx)
                    hooks.update(graph.hook(self, model, torch.nn))
                    graphs.append(graph)
                self._handles.update(hooks)
                self._names.setdefault(model, []).extend(hooks)
            return graphs

    def _plan(self, model: Any, prefix: str, log: str | None) -> tuple[list, list[str]]:
        """The parameters whose gradients get hooks, and the hook names watching ``model`` takes."""
        names = []
        if log in ("parameters", "all"):
            names.append(f"parameters/{prefix}")
        params = []
        if log in ("gradients", "all"):
            params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
            names += [f"gradients/{prefix}{n}" for n, _ in params]
        return params, names

    def _parameter_hook(self, prefix: str, log_freq: int):
        every = _Every(log_freq)

        def after_forward(module, inputs, output):
            if every.due():
                self.log({f"parameters/{prefix}{name}": p for name, p in module.named_parameters()})

        return after_forward

    def _gradient_hook(self, key: str, log_freq: int):
        every = _Every(log_freq)

        def on_gradient(grad):
            if every.due():
                self.log({key: grad})
            # Returns None: the gradient goes on unchanged.

        return on_gradient

    def log(self, tensors: dict[str, Any]) -> None:
        """Log a histogram of each tensor into the current row; nothing once the run has ended."""
        run = self._run_ref()
        if run is None or run.finished:
            return
        data = {}
        for key, tensor in tensors.items():
            hist = _histogram(tensor)
            if hist is not None:
                data[key] = hist
        if not data:
            return
        try:
            run.log(data, commit=False)
        except UsageError:
            if not run.finished:
                raise  # finished by another thread meanwhile: the model outlives its run, quietly

    def set_summary(self, key: str, value: Any) -> None:
        run = self._run_ref()
        if run is not None and not run.finished:
            try:
                run.summary[key] = value
            except UsageError:
                if not run.finished:
                    raise

    def unwatch(self, models: Any = None) -> None:
        with self._lock:
            if models is None:
                handles = list(self._handles.values())
                self._handles.clear()
                self._names = weakref.WeakKeyDictionary()
            else:
                handles = []
                for model in models if isinstance(models, (tuple, list)) else (models,):
                    names = self._names.pop(model, None) if _weakrefable(model) else None
                    if names is None:
                        terminal.warn(
                            f"unwatch(): {type(model).__name__} model was not watched by this run; nothing to remove"
                        )
                        continue
                    handles += [self._handles.pop(n) for n in names if n in self._handles]
        for handle in handles:
            handle.remove()


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def _histogram(tensor: Any) -> Any:
    """A 64-bin ``Histogram`` of the tensor's finite values, or None when it has none (as wandb skips)."""
    import numpy as np
    import torch

    from .media.histogram import Histogram

    t = tensor.detach()
    if t.is_sparse:
        t = t.to_dense()  # the implicit zeros are values too
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()  # numpy has no bfloat16; wandb bins in float32 too
    values = t.cpu().numpy().ravel()  # a copy off the GPU; on CPU binned now and not kept
    if values.size == 0 or not np.isfinite(values).any():
        return None
    return Histogram(values, num_bins=NUM_BINS)


class _ModuleGraph(Media):
    """The module tree of a watched model, as wandb's torch graph: a ``graph-file`` value.

    The file is JSON ``{"format": "torch", "nodes": [...], "edges": []}``, one node per layer
    that ran in the model's first forward call, in the order they ran. Layers inside
    ``Sequential``, ``ModuleList`` and ``ModuleDict`` are listed in their place, with dotted
    names (``"0"``, ``"encoder.1"``). A node is ``{"id", "name", "class_name", "output_shape",
    "parameters": [[name, shape], ...], "num_parameters": [count, ...]}``; ``class_name`` is
    the layer's repr (``"Linear(in_features=4, out_features=8, bias=True)"``), as wandb writes
    it, and ``id`` is the node's position (wandb writes a memory address). wandb's torch graph
    has no edges, and neither has this one. It is written to the summary as ``graph_<idx>``
    when the model's first forward call ends (wandb waits until every layer has run once, and
    so writes nothing for a model with a layer that never runs).
    """

    _type = "graph-file"

    def __init__(self, graph_idx: int):
        self.graph_idx = graph_idx
        self.nodes: list[dict[str, Any]] = []
        self.done = False

    def hook(self, watcher: Watcher, model: Any, nn: Any) -> dict[str, Any]:
        """Put the forward hooks that fill the graph; return them by hook name."""
        seen: set[int] = set()
        hooks = {}
        for name, layer in _layers(model, nn):
            hooks[f"topology/{self.graph_idx}/{name}"] = layer.register_forward_hook(
                self._layer_hook(name, seen)
            )

        def after_model(module, inputs, output):
            if not self.done:
                self.done = True
                watcher.set_summary(f"graph_{self.graph_idx}", self)

        hooks[f"topology/{self.graph_idx}"] = model.register_forward_hook(after_model)
        return hooks

    def _layer_hook(self, name: str, seen: set[int]):
        def after_layer(module, inputs, output):
            if self.done or id(module) in seen:
                return
            seen.add(id(module))
            params = [[pname, list(p.shape)] for pname, p in module.named_parameters()]
            self.nodes.append(
                {
                    "id": len(self.nodes),
                    "name": name,
                    "class_name": repr(module),
                    "output_shape": _shape(output),
                    "parameters": params,
                    "num_parameters": [_count(shape) for _, shape in params],
                }
            )

        return after_layer

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        data = json.dumps(
            {"format": "torch", "nodes": self.nodes, "edges": []}, sort_keys=True
        ).encode("utf-8")
        return {"_type": self._type, **store.put(data, "graph.json")}


def _layers(module: Any, nn: Any, prefix: str = ""):
    containers = tuple(getattr(nn, c) for c in _CONTAINERS)
    for name, child in module.named_children():
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(child, containers):
            yield from _layers(child, nn, full)
        else:
            yield full, child


def _shape(output: Any, depth: int = 0) -> Any:
    """The shape of a tensor, or the nested shapes of a tuple/list/dict of them."""
    if hasattr(output, "shape"):
        return [int(s) for s in output.shape]
    if depth < 8 and isinstance(output, (tuple, list)):
        return [_shape(o, depth + 1) for o in output]
    if depth < 8 and isinstance(output, dict):
        return [_shape(o, depth + 1) for o in output.values()]
    return []


def _count(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n

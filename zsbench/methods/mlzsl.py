"""MLZSL (Lee et al., CVPR 2018): multi-label zero-shot learning with a structured knowledge graph.

Nodes are the classes being scored. Each node starts from an MLP over [image feature; class
embedding], exchanges messages with its neighbours for T gated (GRU) steps, and an output MLP turns
its final state into the class's logit.

Adaptation for chest X-rays (REFERENCE.md section 5): WordNet relations fit radiology labels poorly,
so the graph has three edge types built from what zsbench has:

- ``similar``: from each node's k most cosine-similar other classes in text-embedding space;
- ``co-occur+`` / ``co-occur-``: between seen classes whose labels are positively / negatively
  correlated in the training labels (phi coefficient beyond ``cooc_threshold``), only when
  :meth:`Mlzsl.bind_cooccurrence` was called; unseen classes never get these edges.

As in the paper, the message weight of an edge u -> v is a d x d matrix computed by an edge-type
specific relation net FROM the two classes' embeddings, never a free parameter per edge, so unseen
classes get edges (and propagate) without retraining. Loss: BCE on the seen classes at every
propagation step, averaged over steps; scores are the last step's logits.

Our choices where the paper leaves room: class embeddings are L2-normalised first (scale-free
across text encoders); a node's incoming messages are averaged (not summed) and squashed by tanh,
so node degree does not change their scale; the BCE covers steps 1..T (not the initial state).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zsbench.errors import UsageError
from zsbench.methods.base import Method, TrainingContext
from zsbench.methods.common import masked_bce_with_logits, parse_options, require

EDGE_TYPES = ("similar", "co-occur+", "co-occur-")
Edges = tuple[torch.Tensor, torch.Tensor]  # (source ids, target ids), messages flow source -> target


def text_similarity_edges(class_embeddings: torch.Tensor, k: int) -> Edges:
    """Edges u -> v from each node v's k most cosine-similar other nodes u."""
    n = len(class_embeddings)
    k = min(k, n - 1)
    if k <= 0:
        empty = torch.zeros(0, dtype=torch.long, device=class_embeddings.device)
        return empty, empty
    with torch.no_grad():  # only the choice of neighbours; edge weights come from the relation nets
        unit = F.normalize(class_embeddings, dim=1)
        sim = unit @ unit.T
        sim.fill_diagonal_(-float("inf"))  # no self loops: the GRU already keeps a node's own state
        nearest = sim.topk(k, dim=1).indices  # nearest[v] = the sources of v's edges
    targets = torch.arange(n, device=sim.device).repeat_interleave(k)
    return nearest.reshape(-1), targets


def label_correlation(labels: torch.Tensor) -> torch.Tensor:
    """Phi coefficient (Pearson correlation of 0/1 labels) between every pair of columns, each pair
    over the rows where both labels are known. NaN where it is undefined (a constant column)."""
    known = (~torch.isnan(labels)).to(torch.float64)
    x = torch.nan_to_num(labels.to(torch.float64), nan=0.0)
    count = known.T @ known  # rows where both i and j are known
    sum_i = x.T @ known  # sum of column i over those rows
    sum_j = sum_i.T
    sum_ij = x.T @ x
    sq_i = (x * x).T @ known
    sq_j = sq_i.T
    cov = count * sum_ij - sum_i * sum_j
    var = (count * sq_i - sum_i**2) * (count * sq_j - sum_j**2)
    corr = cov / var.sqrt()
    corr[(var <= 0) | (count < 2)] = float("nan")
    return corr.to(torch.float32)


def cooccurrence_edges(correlation: torch.Tensor, threshold: float) -> tuple[Edges, Edges]:
    """Positive and negative correlation edges (both directions) between distinct classes whose
    correlation is above ``threshold`` / below ``-threshold``; NaN entries give no edge."""
    off = ~torch.eye(len(correlation), dtype=torch.bool, device=correlation.device)
    pos = torch.nonzero((correlation > threshold) & off, as_tuple=True)
    neg = torch.nonzero((correlation < -threshold) & off, as_tuple=True)
    return (pos[0], pos[1]), (neg[0], neg[1])


@dataclass(frozen=True)
class MlzslConfig:
    steps: int = 5  # T
    k: int = 3  # text-similarity neighbours per node
    node_dim: int = 32
    hidden: int = 256  # width of the input MLP
    relation_dim: int = 50  # class-embedding projection the relation nets read
    out_hidden: int = 32
    dropout: float = 0.2
    cooc_threshold: float = 0.1

    def __post_init__(self) -> None:
        require(self.steps >= 1, f"steps must be >= 1 (got {self.steps})")
        require(self.k >= 0, f"k must be >= 0 (got {self.k})")
        require(min(self.node_dim, self.hidden, self.relation_dim, self.out_hidden) >= 1,
                "node_dim, hidden, relation_dim and out_hidden must be >= 1")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1) (got {self.dropout})")
        require(self.cooc_threshold >= 0, f"cooc_threshold must be >= 0 (got {self.cooc_threshold})")


class Mlzsl(Method):
    """Gated graph propagation over a class graph built afresh for whichever classes are scored."""

    name = "mlzsl"

    def __init__(self, feature_dim: int, text_dim: int, config: MlzslConfig) -> None:
        super().__init__()
        self.config = config
        d = config.node_dim
        # Linear([x; w]) written as two Linears: same function, without materialising n x C copies of x
        self.input_image = nn.Linear(feature_dim, config.hidden)
        self.input_class = nn.Linear(text_dim, config.hidden, bias=False)
        self.input_out = nn.Sequential(nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(config.hidden, d))
        self.relation_embed = nn.Linear(text_dim, config.relation_dim)
        self.relations = nn.ModuleList(
            nn.Sequential(
                nn.Linear(2 * config.relation_dim, config.relation_dim),
                nn.ReLU(),
                nn.Linear(config.relation_dim, d * d),
            )
            for _ in EDGE_TYPES
        )
        self.cell = nn.GRUCell(d, d)
        self.output = nn.Sequential(nn.Linear(d, config.out_hidden), nn.ReLU(), nn.Linear(config.out_hidden, 1))
        # Seen-class label correlations and the embeddings that identify those classes. Persistent,
        # so a checkpoint scores with the same graph; empty until bind_cooccurrence.
        self.register_buffer("cooc_correlation", torch.zeros(0, 0))
        self.register_buffer("cooc_keys", torch.zeros(0, text_dim))

    def bind_training_context(self, context: TrainingContext) -> None:
        """The graph's co-occurrence edges: label correlations of the training columns only."""
        self.bind_cooccurrence(label_correlation(context.train_labels), context.class_embeddings)

    def bind_cooccurrence(self, correlation: torch.Tensor, class_embeddings: torch.Tensor) -> None:
        """Seen-class label correlations (S x S, e.g. :func:`label_correlation` of the training
        labels) and the S class embeddings they belong to. Classes are matched by embedding when
        scoring, so any subset or order of classes can be scored later."""
        if correlation.shape != (len(class_embeddings), len(class_embeddings)):
            raise UsageError(f"correlation {tuple(correlation.shape)} does not match "
                             f"{len(class_embeddings)} class embeddings")
        device = self.cooc_keys.device
        self.cooc_correlation = correlation.detach().to(device, torch.float32).clone()
        self.cooc_keys = class_embeddings.detach().to(device, torch.float32).clone()

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # the co-occurrence buffers' size is only known once bound: take the checkpoint's
        for name in ("cooc_correlation", "cooc_keys"):
            stored = state_dict.get(prefix + name)
            if stored is not None:
                setattr(self, name, torch.empty_like(stored, device=getattr(self, name).device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _bound_correlation(self, class_embeddings: torch.Tensor) -> torch.Tensor | None:
        """C x C correlations for the classes being scored (NaN where a class is not a bound one)."""
        if len(self.cooc_keys) == 0:
            return None
        keys = self.cooc_keys.to(class_embeddings.dtype)
        dist = torch.cdist(class_embeddings, keys)
        best, index = dist.min(dim=1)
        scale = keys.abs().amax().clamp(min=1.0)
        matched = best <= 1e-5 * scale  # the same text embedding means the same class
        corr = torch.full((len(class_embeddings),) * 2, float("nan"), device=class_embeddings.device)
        ids = torch.nonzero(matched).squeeze(1)
        corr[ids.unsqueeze(1), ids] = self.cooc_correlation[index[ids].unsqueeze(1), index[ids]]
        return corr

    def graph(self, class_embeddings: torch.Tensor) -> list[Edges]:
        """Edges of each type in EDGE_TYPES for these classes."""
        empty = torch.zeros(0, dtype=torch.long, device=class_embeddings.device)
        edges = [text_similarity_edges(class_embeddings, self.config.k), (empty, empty), (empty, empty)]
        corr = self._bound_correlation(class_embeddings)
        if corr is not None:
            edges[1], edges[2] = cooccurrence_edges(corr, self.config.cooc_threshold)
        return edges

    def step_logits(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Logits after each propagation step, (T, n, C)."""
        n, c, d = len(features), len(class_embeddings), self.config.node_dim
        classes = F.normalize(class_embeddings, dim=1)
        hidden = self.input_image(features).unsqueeze(1) + self.input_class(classes).unsqueeze(0)
        state = self.input_out(hidden)  # (n, C, d)
        embedded = self.relation_embed(classes)
        messages: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        in_degree = torch.zeros(c, device=features.device, dtype=features.dtype)
        for relation, (src, dst) in zip(self.relations, self.graph(class_embeddings), strict=True):
            if len(src) == 0:
                continue
            weight = relation(torch.cat([embedded[src], embedded[dst]], dim=1)).view(-1, d, d)
            messages.append((src, dst, weight))
            in_degree.index_add_(0, dst, torch.ones_like(dst, dtype=features.dtype))
        in_degree = in_degree.clamp(min=1).view(1, c, 1)
        out = []
        for _ in range(self.config.steps):
            incoming = torch.zeros_like(state)
            for src, dst, weight in messages:
                sent = torch.einsum("eij,nej->nei", weight, state[:, src])  # A_uv h_u for each edge
                incoming = incoming.index_add(1, dst, sent)
            update = torch.tanh(incoming / in_degree)
            state = self.cell(update.reshape(n * c, d), state.reshape(n * c, d)).view(n, c, d)
            out.append(self.output(state).squeeze(-1))
        return torch.stack(out)

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        return self.step_logits(features, class_embeddings)[-1]

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        steps = self.step_logits(features, class_embeddings)
        per_step = torch.stack([masked_bce_with_logits(logits, labels) for logits in steps])
        total = per_step.mean()
        return total, {"bce": total.item(), "bce_last": per_step[-1].item()}

    def describe(self) -> dict[str, object]:
        return {"name": self.name, **asdict(self.config), "edge_types": list(EDGE_TYPES),
                "cooccurrence_classes": len(self.cooc_keys)}


def create_mlzsl(
    *,
    feature_dim: int,
    text_dim: int,
    options: dict[str, Any] | None = None,
    feature_map_dim: int | None = None,
    **_: object,
) -> Mlzsl:
    return Mlzsl(feature_dim, text_dim, parse_options(MlzslConfig, options, "mlzsl"))

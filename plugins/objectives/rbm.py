"""RBM training objectives: where the negative phase's samples come from.

The log-likelihood gradient of an RBM is a difference of two expectations,

    d log p(v) / d theta = -dF(v)/d theta + E_{v' ~ p}[dF(v')/d theta],

so the rbm family minimises the surrogate loss mean F(v_data) - mean F(v_negative) with the
negatives held fixed (no gradient through the chain): its gradient is the data term minus the
model term with p(h | v) in place of h on both sides (e.g. dW = <p(h|v) v^T>_data -
<p(h|v') v'^T>_negatives, ascent direction). An objective supplies the negatives:

- `cd` (Hinton 2002): CD-k, k steps of block Gibbs sampling started at the data minibatch.
- `pcd` (Tieleman 2008): persistent contrastive divergence, `n_chains` Gibbs chains that are
  never reset: each update advances them k steps and uses their states. They start from the
  model's visible marginals sigmoid(b) (the data's marginals after the family's initialisation).

Both publish SGD settings of Hinton's practical guide (lr 0.01 with momentum 0.9 on the mean
gradient of a minibatch of 100, L2 weight cost 1e-4 on the weights) as train defaults.
"""

from __future__ import annotations

import torch

from genbench import ObjectiveSpec, Param, hookimpl
from genbench.plugins.models.rbm import RBM, bernoulli

GUIDE_DEFAULTS = {"lr": 0.01, "batch_size": 100, "momentum": 0.9, "weight_decay": 1e-4}


class ContrastiveDivergence:
    """CD-k: negatives are the data minibatch after k Gibbs steps."""

    def __init__(self, k: int):
        self.k = k

    @torch.no_grad()
    def negatives(self, model: RBM, v_data: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """v_data (m, D) -> negatives (m, D)."""
        return model.gibbs(v_data, self.k, generator)


class PersistentCD:
    """PCD: n_chains persistent chains, advanced k Gibbs steps per update."""

    def __init__(self, n_chains: int, k: int):
        self.n_chains, self.k = n_chains, k
        self.chains: torch.Tensor | None = None  # (n_chains, D), the chains' current states

    @torch.no_grad()
    def negatives(self, model: RBM, v_data: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The chains' states after k more steps, (n_chains, D); v_data is not used."""
        if self.chains is None:
            marginals = torch.sigmoid(model.visible_bias).expand(self.n_chains, -1)  # (n_chains, D)
            self.chains = bernoulli(marginals, generator)
        self.chains = model.gibbs(self.chains, self.k, generator)
        return self.chains


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("cd", "contrastive divergence CD-k (Hinton 2002): k Gibbs steps from the data",
                           ContrastiveDivergence, {"k": Param(1, "Gibbs steps of the negative phase", min=1,
                                                               max=10_000)},
                           family="rbm", train_defaults=GUIDE_DEFAULTS))
    register(ObjectiveSpec("pcd", "persistent contrastive divergence (Tieleman 2008): chains kept across updates",
                           PersistentCD, {"n_chains": Param(100, "persistent Gibbs chains", min=1, max=100_000),
                                          "k": Param(1, "Gibbs steps per update", min=1, max=10_000)},
                           family="rbm", train_defaults=GUIDE_DEFAULTS))

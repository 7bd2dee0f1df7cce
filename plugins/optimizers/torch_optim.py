"""Adam and RMSprop from torch.optim, the two optimizers Lucic et al. 2018 swept for GANs, and
plain SGD with momentum and weight decay, what the RBM literature uses (Hinton's practical guide).

The learning rate is a [train] setting (`lr`), shared by every optimizer; each optimizer's own
knobs are its parameters: `optimizers = [{ name = "adam", beta1 = 0.0, beta2 = 0.9 }]`.
"""

from __future__ import annotations

import torch

from genbench import OptimizerSpec, Param, hookimpl


def adam(parameters, *, lr: float, beta1: float, beta2: float, eps: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(parameters, lr=lr, betas=(beta1, beta2), eps=eps)


def rmsprop(parameters, *, lr: float, alpha: float, momentum: float, eps: float) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(parameters, lr=lr, alpha=alpha, momentum=momentum, eps=eps)


def sgd(parameters, *, lr: float, momentum: float, weight_decay: float, nesterov: bool) -> torch.optim.Optimizer:
    return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=nesterov and momentum > 0)


ADAM = {
    "beta1": Param(0.5, "Adam beta1 (DCGAN's 0.5; 0.9 is torch's default)", min=0.0, max=1.0),
    "beta2": Param(0.999, "Adam beta2", min=0.0, max=1.0),
    "eps": Param(1e-8, "Adam epsilon", min=0.0),
}
RMSPROP = {
    "alpha": Param(0.99, "smoothing constant of the squared-gradient average", min=0.0, max=1.0),
    "momentum": Param(0.0, "momentum factor", min=0.0, max=1.0),
    "eps": Param(1e-8, "RMSprop epsilon", min=0.0),
}

SGD = {
    "momentum": Param(0.0, "momentum factor (Hinton's guide: 0.5 to 0.9)", min=0.0, max=1.0),
    "weight_decay": Param(0.0, "L2 weight cost; a family may exempt biases (rbm does)", min=0.0),
    "nesterov": Param(False, "Nesterov momentum (only with momentum > 0)"),
}


@hookimpl
def register_optimizers(register):
    register(OptimizerSpec("adam", "Adam (Kingma & Ba 2015)", adam, ADAM, default=True))
    register(OptimizerSpec("rmsprop", "RMSprop (Tieleman & Hinton 2012)", rmsprop, RMSPROP))
    register(OptimizerSpec("sgd", "stochastic gradient descent with momentum and weight decay", sgd, SGD))

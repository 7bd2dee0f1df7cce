"""Models calling genbench.kernels compile without graph breaks under the compiled backend (the
dispatch reads a global holder dynamo can trace), and compute what they compute eagerly."""

import copy

import pytest
import torch
from genbench.kernels import functional as K
from genbench.kernels import use
from genbench.plugins.models.dcgan import DCGANDiscriminator, DCGANGenerator


@pytest.mark.compile
def test_dcgan_compiles_with_fullgraph_and_matches_eager(backend_for):
    backend, device = backend_for("compiled")
    torch.manual_seed(0)
    G = DCGANGenerator(8, 4, (1, 28, 28), norm="batch").to(device)
    D = DCGANDiscriminator(4, (1, 28, 28), norm="batch", spectral=False).to(device)
    z = torch.randn(6, 8, device=device)

    def step(G, D):  # a generator step: fwd + bwd through D and G
        loss = K.generator_loss(D(G(z)), "nonsaturating")
        loss.backward()
        return loss.detach(), [p.grad for net in (G, D) for p in net.parameters()]

    expected_loss, expected_grads = step(copy.deepcopy(G), copy.deepcopy(D))
    with use(backend) as usage:
        compiled_G, compiled_D = torch.compile(G, fullgraph=True), torch.compile(D, fullgraph=True)
        loss, grads = step(compiled_G, compiled_D)  # fullgraph: a graph break would raise
    assert usage.ops == {"batchnorm_act_with_stats": "reference", "bias_act": "reference",
                         "generator_loss": "compiled"}
    torch.testing.assert_close(loss, expected_loss, rtol=1e-4, atol=1e-5)
    for actual, expected in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(actual, expected, rtol=1e-3, atol=1e-5)

"""Every op of every fused backend against the reference: forward, backward with a random
grad_output, odd and empty shapes, non-contiguous inputs, float32/float64, extreme logits, NaN,
no mutation, gradcheck (and gradgradcheck for bias_act).

Triton runs through the interpreter on CPU (see conftest.py). The compiled backend's op table
holds the loss ops only (its channel ops run the reference inside compiled networks, tested in
test_kernels_compile.py); it is checked in float32 only, to keep the number of compiled graphs
small.
"""

import pytest
import torch
from genbench.kernels import functional as K
from genbench.kernels import use
from torch.autograd import gradcheck, gradgradcheck

F32, F64 = torch.float32, torch.float64
TOL = {F32: {"rtol": 2e-5, "atol": 1e-6}, F64: {"rtol": 1e-9, "atol": 1e-12}}
COMPILE = pytest.mark.compile
LOSS_CASES = [("triton", F32), ("triton", F64), pytest.param(("compiled", F32), marks=COMPILE)]
CHANNEL_CASES = [("triton", F32), ("triton", F64)]


def case_id(case) -> str:
    return f"{case[0]}-{str(case[1])[6:]}"


@pytest.fixture(params=LOSS_CASES, ids=case_id)
def loss_case(request, backend_for):
    """(backend, device, dtype) for a loss op."""
    name, dtype = request.param
    return (*backend_for(name), dtype)


@pytest.fixture(params=CHANNEL_CASES, ids=case_id)
def channel_case(request, backend_for):
    """(backend, device, dtype) for a channel op."""
    name, dtype = request.param
    return (*backend_for(name), dtype)


@pytest.fixture(params=["triton", pytest.param("compiled", marks=COMPILE)])
def backend(request, backend_for):
    """(backend, device)."""
    return backend_for(request.param)


def make(shape, dtype, device, contiguous=True, low=None, high=None, seed=0):
    """A random tensor of `shape`; non-contiguous (every other element of the last dim) if asked;
    uniform in [low, high) if given, else standard normal."""
    g = torch.Generator().manual_seed(seed)
    full = (*shape[:-1], shape[-1] * (1 if contiguous else 2))
    if low is None:
        t = torch.randn(full, generator=g)
    else:
        t = torch.rand(full, generator=g) * (high - low) + low
    t = t.to(dtype=dtype, device=device)
    return t if contiguous else t[..., ::2]


def run(fn, inputs, differentiable, backend=None, seed=1):
    """Outputs of fn(*inputs) under `backend` (None: the reference, outside any use()) and the
    gradients of the differentiable inputs for a random grad_output; asserts that no input was
    mutated, and that every op ran on the backend."""
    before = [t.clone() for t in inputs]
    leaves = [t.detach().clone().requires_grad_(d) for t, d in zip(inputs, differentiable, strict=True)]
    if backend is None:
        out = fn(*leaves)
    else:
        with use(backend) as usage:
            out = fn(*leaves)
        assert set(usage.ops.values()) == {backend.name}, usage.ops
    outs = list(out) if isinstance(out, tuple) else [out]
    g = torch.Generator().manual_seed(seed)
    grad_outputs = [torch.randn(o.shape, generator=g).to(o) for o in outs]
    diff = [i for i, o in enumerate(outs) if o.requires_grad]  # not batch statistics
    wrt = [t for t in leaves if t.requires_grad]
    grads = torch.autograd.grad([outs[i] for i in diff], wrt, [grad_outputs[i] for i in diff],
                                allow_unused=True)
    for t, b in zip(inputs, before, strict=True):
        torch.testing.assert_close(t, b, rtol=0, atol=0, equal_nan=True)
    return [o.detach() for o in outs], list(grads)


def assert_matches_reference(fn, inputs, differentiable, backend, tol):
    expected, expected_grads = run(fn, inputs, differentiable)
    actual, actual_grads = run(fn, inputs, differentiable, backend)
    for a, e in zip(actual + actual_grads, expected + expected_grads, strict=True):
        assert a.shape == e.shape and a.dtype == e.dtype
        torch.testing.assert_close(a, e, equal_nan=True, **tol)


GAN_SHAPES = [  # (real shape, fake shape, contiguous)
    ((0,), (3,), True), ((1,), (1,), True), ((7,), (5,), False), ((1029,), (1500,), True),
    ((33, 3), (17, 1), False), ((100_003,), (65_537,), True),
]


@pytest.mark.parametrize("kind", K.GAN_LOSS_KINDS)
@pytest.mark.parametrize("reduction", K.REDUCTIONS)
def test_gan_losses_match_reference(loss_case, kind, reduction):
    backend, device, dtype = loss_case
    for real_shape, fake_shape, contiguous in GAN_SHAPES:
        real = make(real_shape, dtype, device, contiguous, seed=2) * 3
        fake = make(fake_shape, dtype, device, contiguous, seed=3) * 3
        d_loss = lambda r, f: K.discriminator_loss(r, f, kind, reduction=reduction)
        g_loss = lambda f: K.generator_loss(f, kind, reduction=reduction)
        assert_matches_reference(d_loss, [real, fake], [True, True], backend, TOL[dtype])
        assert_matches_reference(g_loss, [fake], [True], backend, TOL[dtype])


VAE_SHAPES = [  # (recon shape, latent dims, contiguous)
    ((1, 1), 1, True), ((3, 7), 2, False), ((4, 1, 5, 5), 3, True), ((2, 5000), 5, False),
    ((0, 4), 2, True),
]


@pytest.mark.parametrize("reduction", K.REDUCTIONS)
def test_vae_loss_matches_reference(loss_case, reduction):
    backend, device, dtype = loss_case
    for shape, latents, contiguous in VAE_SHAPES:
        recon = make(shape, dtype, device, contiguous, seed=2) * 4
        target = make(shape, dtype, device, contiguous, low=0.0, high=1.0, seed=3)
        mu = make((shape[0], latents), dtype, device, contiguous, seed=4)
        logvar = make((shape[0], latents), dtype, device, contiguous, seed=5)
        loss = lambda r, t, m, lv: K.vae_loss(r, t, m, lv, beta=0.5, reduction=reduction)
        assert_matches_reference(loss, [recon, target, mu, logvar], [True, False, True, True],
                                 backend, TOL[dtype])


ACTIVATIONS = [("leaky_relu", 0.2), ("relu", 0.0)]
BIAS_ACT_SHAPES = [((1, 1), True), ((5, 3), False), ((4, 3, 5, 7), True), ((3, 5, 33, 45), False),
                   ((0, 3, 4), True)]


@pytest.mark.parametrize("activation, slope", ACTIVATIONS)
def test_bias_act_matches_reference(channel_case, activation, slope):
    backend, device, dtype = channel_case
    for shape, contiguous in BIAS_ACT_SHAPES:
        x = make(shape, dtype, device, contiguous, seed=2)
        bias = make(shape[1:2], dtype, device, seed=3)
        fn = lambda x, b: K.bias_act(x, b, activation=activation, negative_slope=slope)
        assert_matches_reference(fn, [x, bias], [True, True], backend, TOL[dtype])


BATCHNORM_SHAPES = [((2, 3), True), ((7, 5), False), ((4, 3, 5, 7), True),
                    ((3, 2, 40, 41), False), ((1, 4, 3, 3), True)]


@pytest.mark.parametrize("activation, slope", ACTIVATIONS)
def test_batchnorm_act_matches_reference(channel_case, activation, slope):
    backend, device, dtype = channel_case
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == F32 else TOL[dtype]  # grad_x cancels terms
    for shape, contiguous in BATCHNORM_SHAPES:
        x = make(shape, dtype, device, contiguous, seed=2) * 2 + 0.5
        weight = make(shape[1:2], dtype, device, low=0.5, high=1.5, seed=3)
        bias = make(shape[1:2], dtype, device, seed=4)
        fn = lambda x, w, b: K.batchnorm_act_with_stats(x, w, b, activation=activation,
                                                        negative_slope=slope)
        assert_matches_reference(fn, [x, weight, bias], [True, True, True], backend, tol)


EXTREMES = [0.0, 20.0, -20.0, 100.0, -100.0, 1e4, -1e4]


def test_extreme_logits_are_finite(backend):
    backend, device = backend
    logits = torch.tensor(EXTREMES, device=device)
    for kind in K.GAN_LOSS_KINDS:
        for fn in (lambda x, kind=kind: K.discriminator_loss(x, x.flip(0), kind),
                   lambda x, kind=kind: K.generator_loss(x, kind)):
            (loss,), (grad,) = run(fn, [logits], [True], backend)
            assert torch.isfinite(loss).all() and torch.isfinite(grad).all(), kind
            assert_matches_reference(fn, [logits], [True], backend, TOL[F32])
    recon = logits.repeat(2, 1)  # (2, 7)
    target = torch.tensor([[0.0], [1.0]], device=device).expand(2, 7)
    mu = torch.zeros(2, 3, device=device)
    fn = lambda r, t, m, lv: K.vae_loss(r, t, m, lv, reduction="none")
    (loss,), grads = run(fn, [recon, target, mu, mu], [True, False, True, True], backend)
    assert torch.isfinite(loss).all() and all(torch.isfinite(g).all() for g in grads)
    assert_matches_reference(fn, [recon, target, mu, mu], [True, False, True, True], backend, TOL[F32])


def test_nan_in_gives_nan_out(backend):
    backend, device = backend
    x = torch.tensor([0.5, float("nan"), -2.0], device=device)
    recon = torch.zeros(2, 3, device=device)
    recon[1, 2] = float("nan")
    mu = torch.zeros(2, 2, device=device)
    x4 = torch.randn(2, 3, 4, device=device)
    x4[1, 2, 3] = float("nan")
    with use(backend):
        for kind in K.GAN_LOSS_KINDS:
            assert K.generator_loss(x, kind).isnan()
            assert K.discriminator_loss(x, x[:1], kind).isnan()
            terms = K.generator_loss(x, kind, reduction="none")
            assert terms.isnan().tolist() == [False, True, False], kind
        per_example = K.vae_loss(recon, recon.nan_to_num(), mu, mu, reduction="none")
        assert per_example.isnan().tolist() == [False, True]
        y = K.bias_act(x4, torch.zeros(3, device=device))
        assert y.isnan().sum() == 1 and y[1, 2, 3].isnan()
        y = K.batchnorm_act(x4, None, None)
        assert y[:, 2].isnan().all() and not y[:, :2].isnan().any()  # the channel's statistics


def test_triton_gradcheck_float64(backend_for):
    backend, device = backend_for("triton")
    opts = {"device": device, "dtype": F64}
    real, fake = torch.randn(5, **opts), torch.randn(4, **opts)
    recon, target = torch.randn(2, 5, **opts), torch.rand(2, 5, **opts)
    mu, logvar = torch.randn(2, 3, **opts), torch.randn(2, 3, **opts)
    x, bias = torch.randn(3, 2, 4, **opts), torch.randn(2, **opts)
    weight = torch.rand(2, **opts) + 0.5
    bias_act = lambda x, b: K.bias_act(x, b, negative_slope=0.1)
    with use(backend):
        for kind in K.GAN_LOSS_KINDS:
            assert gradcheck(lambda r, f, kind=kind: K.discriminator_loss(r, f, kind),
                             (real.requires_grad_(), fake.requires_grad_()), fast_mode=True)
            assert gradcheck(lambda f, kind=kind: K.generator_loss(f, kind),
                             (fake.requires_grad_(),), fast_mode=True)
        assert gradcheck(lambda r, m, lv: K.vae_loss(r, target, m, lv, beta=0.7),
                         (recon.requires_grad_(), mu.requires_grad_(), logvar.requires_grad_()),
                         fast_mode=True)
        assert gradcheck(bias_act, (x.requires_grad_(), bias.requires_grad_()), fast_mode=True)
        assert gradgradcheck(bias_act, (x, bias), fast_mode=True)
        assert gradcheck(lambda x, w, b: K.batchnorm_act(x, w, b, activation="leaky_relu",
                                                         negative_slope=0.1),
                         (x, weight.requires_grad_(), bias), fast_mode=True)


@pytest.mark.parametrize("name", ["eager", "compiled", "triton"])
def test_bias_act_double_backward_matches_reference(name, backend_for):
    """A gradient penalty (R1): d/dparams of ||d out / d x||^2 through bias_act."""
    backend, device = backend_for(name)
    x = torch.randn(6, 4, device=device, requires_grad=True)
    bias = torch.randn(4, device=device, requires_grad=True)

    def penalty_grads():
        out = K.bias_act(x * 1.5, bias)
        (grad_x,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)
        return torch.autograd.grad(grad_x.square().sum(), (x, bias))

    expected = penalty_grads()
    with use(backend):
        actual = penalty_grads()
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, **TOL[F32])

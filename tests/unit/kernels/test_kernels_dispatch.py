"""How an op finds its implementation: use() nesting, fallback to the reference, usage records,
op() for a plugin's own op, prepare(), and what each built-in backend needs to be available."""


import pytest
import torch
from genbench.kernels import Backend, compiled, current, op, prepare, reference, triton, use
from genbench.kernels import functional as K

DOUBLED = Backend("doubled", {"generator_loss": lambda fake, kind, reduction: 2 * reference.generator_loss(
    fake, kind, reduction)})


def test_use_nests_and_restores_the_previous_backend():
    outer, inner = Backend("outer"), Backend("inner")
    assert current() is None
    with use(outer):
        assert current() is outer
        with use(inner):
            assert current() is inner
        assert current() is outer
        with pytest.raises(RuntimeError), use(inner):
            raise RuntimeError
        assert current() is outer
    assert current() is None


def test_missing_ops_fall_back_to_the_reference_and_usage_says_where_each_op_ran():
    fake, x, bias = torch.randn(5), torch.randn(4, 3), torch.randn(3)
    with use(DOUBLED) as usage:
        loss = K.generator_loss(fake, "hinge")
        y = K.bias_act(x, bias)
    assert usage.ops == {"generator_loss": "doubled", "bias_act": "reference"}
    torch.testing.assert_close(loss, 2 * K.generator_loss(fake, "hinge"))  # outside use(): reference
    torch.testing.assert_close(y, reference.bias_act(x, bias, "leaky_relu", 0.2))
    with use(Backend("outer")) as outer:
        with use(DOUBLED) as inner:
            K.generator_loss(fake, "hinge")
        K.bias_act(x, bias)
    assert inner.ops == {"generator_loss": "doubled"} and outer.ops == {"bias_act": "reference"}


def test_op_decorator_dispatches_a_plugins_own_op():
    @op("swish")
    def swish(x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)

    x = torch.randn(6)
    with use(Backend("fast", {"swish": lambda x: torch.nn.functional.silu(x) + 1})) as usage:
        torch.testing.assert_close(swish(x), torch.nn.functional.silu(x) + 1)
    assert usage.ops == {"swish": "fast"}
    with use(DOUBLED) as usage:
        torch.testing.assert_close(swish(x), x * torch.sigmoid(x))
    assert usage.ops == {"swish": "reference"}
    assert swish.__name__ == "swish"


def test_prepare_applies_the_active_backends_prepare():
    net = torch.nn.Linear(2, 2)
    wrapped = torch.nn.Sequential(net)
    assert prepare(net) is net
    with use(Backend("plain")):
        assert prepare(net) is net
    with use(Backend("wrapping", prepare=lambda m: wrapped)):
        assert prepare(net) is wrapped


@pytest.mark.compile
def test_compiled_prepare_compiles_in_place_and_a_containers_children():
    class Pair(torch.nn.Module):  # no forward of its own, like an autoencoder
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = torch.nn.Linear(3, 2), torch.nn.Linear(2, 3)

    pair = Pair()
    keys = list(pair.state_dict())
    assert compiled.prepare(pair) is pair and list(pair.state_dict()) == keys
    assert pair.encoder._compiled_call_impl is not None and pair.decoder._compiled_call_impl is not None
    net = torch.nn.Linear(3, 2)
    assert compiled.prepare(net) is net and net._compiled_call_impl is not None


def test_compiled_needs_a_cpp_compiler_on_cpu(monkeypatch):
    assert compiled.unavailable() is None  # these tests run where torch.compile works
    monkeypatch.setenv("CXX", "no-such-compiler")
    if not torch.cuda.is_available():
        assert "no-such-compiler was not found" in compiled.unavailable()


def test_triton_on_cpu_needs_the_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with use(Backend("triton", triton.OPS)), pytest.raises(ValueError, match="TRITON_INTERPRET=1"):
        K.generator_loss(torch.zeros(2), "hinge")
    if not torch.cuda.is_available():
        assert "TRITON_INTERPRET=1" in triton.unavailable()


def test_op_tables_hold_the_op_names_of_functional():
    names = {"discriminator_loss", "generator_loss", "vae_loss", "bias_act", "batchnorm_act_with_stats"}
    assert set(reference.OPS) == set(triton.OPS) == names
    assert set(compiled.OPS) == {"discriminator_loss", "generator_loss", "vae_loss"}

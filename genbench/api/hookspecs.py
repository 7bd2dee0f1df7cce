"""The plugin hooks: one per component kind (genbench.api.specs.KINDS), each receiving a `register`
callback; full docs are in docs/plugin_hooks.md.

Every hook has the same shape, `register_<kinds>(register)`: the plugin calls register(spec) once
per component it provides, so the host checks each spec and knows which plugin registered it.
"""

from __future__ import annotations

import pluggy

from genbench.api.specs import KINDS, ComponentKind

hookspec = pluggy.HookspecMarker("genbench")
hookimpl = pluggy.HookimplMarker("genbench")


def _hook(kind: ComponentKind):
    def hook(register):
        pass

    hook.__name__ = hook.__qualname__ = kind.hook
    hook.__doc__ = f"Register {kind.plural}: call register({kind.spec.__name__}(...)) once per {kind.each}."
    return hookspec(hook)


globals().update({kind.hook: _hook(kind) for kind in KINDS})  # register_datasets, register_models, ...

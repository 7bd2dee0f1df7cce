"""A plugin of several modules, as a user iterating on one objective lays it out: `pair-hinge`
is defined in hinge.py (with a helper module of its own, margins.py) and `pair-squares` in
squares.py; this module only registers them. Editing hinge.py or margins.py re-runs the cells of
`pair-hinge` alone, editing squares.py those of `pair-squares` alone
(tests/unit/test_code_version_modules.py)."""

from genbench import ObjectiveSpec, Param, hookimpl

from .hinge import hinge
from .squares import squares

STEPS = {"k": Param(1, "discriminator steps per generator step", min=1)}


@hookimpl
def register_objectives(register):
    register(ObjectiveSpec("pair-hinge", "the hinge loss with a margin", hinge,
                           {**STEPS, "margin": Param(1.0, "the hinge's margin", min=0.0)}, family="gan"))
    register(ObjectiveSpec("pair-squares", "the least-squares loss", squares, STEPS, family="gan"))

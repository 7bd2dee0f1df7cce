"""The plugin API: what plugins and the core share.

The component specs and their parameters (specs), the hooks a plugin implements (hookspecs),
the registry that loads built-ins and entry points and checks what they register (registry),
the matrix axes (axes), the errors every part raises (errors), and the CellResult an executor
hands back (result). Plugin authors import these through `genbench` itself; nothing here imports
the suite, run, results or report packages.
"""

"""The plugin API: what plugins and the core share.

The component specs and their parameters (specs), the hooks a plugin implements (hookspecs),
the registry that loads built-ins and entry points and checks what they register (registry),
how genbench calls what plugins register (contracts), the plugin API's version and history
(versions), the adapters that keep deprecated forms working (compat), the matrix axes (axes),
the errors every part raises (errors), and the CellResult an executor hands back (result).
Plugin authors import these through `genbench` itself; nothing here imports the suite, run,
results or report packages.
"""

"""Component declarations: the `Component` contract (`component`), thin REST routers and DIRAC RPC
tables over the logic layer, one module per System, and how installed components are found
(`installed`: the ``dirac_core.components`` entry points).
"""

"""Study kinds, one package per drawback; each package holds everything only that study uses.

The packages are found by ``dl_drawbacks.plugins`` (every child of this package is imported);
``base`` declares the hooks a kind may provide.
"""

"""Adapters: the only places that reach past a dependency's documented interface (DESIGN.md "Dependencies").

Each module covers one package and has a contract test in tests/adapters/ that fails when a new version of
that package changes what the adapter relies on.
"""

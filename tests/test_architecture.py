"""The import-linter contracts keep covering what they are meant to cover as the code moves.

A forbidden contract only checks the modules it names: a module newly shared with the till, or a
module a shared one starts importing, would escape it silently.  This test derives the set from
the import graph and compares it with the contract in pyproject.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SHARED_CONTRACT = "The modules the till shares with the back office are pure"


def _contract(name: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["name"] == name)


def _loyalty_modules_the_till_loads(graph: grimp.ImportGraph) -> set[str]:
    """Every loyalty module a pos_agent module imports, and what those import in turn."""
    direct = {
        imported
        for module in graph.find_descendants("pos_agent") | {"pos_agent"}
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("loyalty.")
    }
    loaded = set(direct)
    for module in direct:
        loaded |= {m for m in graph.find_upstream_modules(module) if m.startswith("loyalty.")}
    # Importing loyalty.coupons.codes runs the package __init__ files on the way.
    return {m for m in loaded if not _is_package_init(graph, m)}


def _is_package_init(graph: grimp.ImportGraph, module: str) -> bool:
    return bool(graph.find_children(module))


def test_every_loyalty_module_the_till_loads_is_in_the_pure_contract():
    graph = grimp.build_graph("pos_agent", "loyalty")
    shared = set(_contract(SHARED_CONTRACT)["source_modules"])

    loaded = _loyalty_modules_the_till_loads(graph)

    assert loaded, "pos_agent imports nothing from loyalty: the derivation is broken"
    assert loaded <= shared, f"add to the contract in pyproject.toml: {sorted(loaded - shared)}"


def test_package_inits_on_the_way_to_a_shared_module_import_nothing():
    """`import loyalty.cards.numbers` runs loyalty/__init__ and loyalty/cards/__init__ on a till."""
    graph = grimp.build_graph("loyalty")
    for shared in _contract(SHARED_CONTRACT)["source_modules"]:
        parts = shared.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            assert not graph.find_modules_directly_imported_by(package), package


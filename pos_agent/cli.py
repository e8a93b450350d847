"""``pos-agent ...`` commands."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """The till agent (see the POS agent issue; not built yet)."""

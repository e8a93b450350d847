"""ESC/POS slips: the public names of :mod:`pos_agent.printing`, where the code lives."""

from pos_agent.printing import (
    CATALOGUE,
    LANGUAGES,
    PrinterConfig,
    Slip,
    SlipCoupon,
    SlipLine,
    Store,
    label,
    layout_slip,
    mask_card,
    open_printer,
    parse_printer,
    render_preview,
    render_slip,
    shape,
)

__all__ = [
    "CATALOGUE", "LANGUAGES", "PrinterConfig", "Slip", "SlipCoupon", "SlipLine", "Store",
    "label", "layout_slip", "mask_card", "open_printer", "parse_printer", "render_preview",
    "render_slip", "shape",
]

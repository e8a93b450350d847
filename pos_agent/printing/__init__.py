"""ESC/POS slips: what a slip says (``slip``), its words (``labels``), drawing (``raster``),
printing and previews (``render``), and the lane's printer (``config``)."""

from .config import PrinterConfig, open_printer, parse_printer
from .labels import CATALOGUE, LANGUAGES, label
from .raster import shape
from .render import render_preview, render_slip
from .slip import Slip, SlipCoupon, SlipLine, Store, layout_slip, mask_card

__all__ = [
    "CATALOGUE", "LANGUAGES", "PrinterConfig", "Slip", "SlipCoupon", "SlipLine", "Store",
    "label", "layout_slip", "mask_card", "open_printer", "parse_printer", "render_preview",
    "render_slip", "shape",
]

"""The checkout: identify, quote, commit and return, as the till sees them."""

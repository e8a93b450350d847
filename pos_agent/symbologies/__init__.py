"""Pure decoders for what a till's readers deliver: AIM prefixes, stripe tracks, GTINs, GS1.

Nothing here does I/O, logs, or raises with scan text in the message: the text may hold a
payment card number.  :mod:`pos_agent.scans` combines these into one classification.
"""

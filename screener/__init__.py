"""screener: terminal-first screening for systematic reviews.

Importing this package loads nothing heavy: the layers (core, protocol, importers,
ranking, storage, exports, workflow, tui, cli) are imported on demand.
"""

__version__ = "0.1.0"

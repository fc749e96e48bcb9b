"""The terminal UI (Textual): the screening screen, browse, dialogs, styles.

Talks to the database only through `screener.workflow`; never imports screener.storage or
sqlalchemy. Importing `screener.tui` itself loads nothing heavy; `screener.tui.app` loads
textual.
"""

"""Importers that turn other tools' detection rules into 411 searches.

Each format has its own module (``sigma``, ``elastalert``); they share the
report of what converted and what did not (``report``) and how converted
searches are written out or saved (``output``).
"""

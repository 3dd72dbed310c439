"""Nuke init for CHANGER (UNTESTED in Nuke): nothing to register before the UI; see menu.py."""

"""Widgets: the main window, the update wizard, and their item models."""

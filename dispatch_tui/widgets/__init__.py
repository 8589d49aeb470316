"""Reusable widgets of the dispatcher console."""

"""Screens of the dispatcher console, each with its stylesheet beside it."""

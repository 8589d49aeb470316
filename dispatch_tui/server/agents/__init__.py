"""Agents that read a call's transcript and suggest how to handle it.

:class:`~dispatch_tui.server.agents.base.Agent` is the interface; the offline
:class:`~dispatch_tui.server.agents.rules.RulesAgent` needs no network or model.
"""

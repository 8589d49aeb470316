"""Agents that read a call's transcript and suggest how to handle it.

:class:`~dispatch_tui.server.agents.base.Agent` is the interface; the offline
:class:`~dispatch_tui.server.agents.rules.RulesAgent` needs no network or model.
"""

from __future__ import annotations

from dispatch_tui.server.agents.base import Agent

#: The agents that give advice; ``analyze`` takes one of these.
ADVISING_AGENTS = ("rules", "openai")
#: What ``serve --agent`` takes: an advising agent, or none.
AGENT_KINDS = (*ADVISING_AGENTS, "off")


def create_agent(kind: str, model: str | None = None) -> Agent | None:
    """The agent ``--agent`` names; ``openai`` falls back to the rules agent."""
    from dispatch_tui.server.agents.rules import RulesAgent

    if kind == "off":
        return None
    if kind == "rules":
        return RulesAgent()
    if kind == "openai":
        from dispatch_tui.server.agents.openai_agent import OpenAIAgent

        return OpenAIAgent(RulesAgent(), model=model)
    raise ValueError(f"unknown agent {kind!r}; choose one of {', '.join(AGENT_KINDS)}")

"""Central Edge: the local edge runtime (hub, agent, service API) and the `central` CLI."""

__version__ = "0.1.0"

"""Plan and apply: wires spec, io, models and metrics together."""

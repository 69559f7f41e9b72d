"""Where `Lab` used to live: it is now a small composition root in lab/world/lab.py."""

from lab.events import Record
from lab.world.lab import LAB_EPOCH, Lab, tune_gc
from lab.world.ledger import Label
from lab.world.topology import TOPOLOGIES, node_names, topology_edges

LogEntry = Record  # the log holds typed events now; text comes from lab.render.events.sentence(record)

__all__ = ["LogEntry", "LAB_EPOCH", "TOPOLOGIES", "Lab", "Label", "node_names", "topology_edges", "tune_gc"]

"""Where `Lab` used to live: it is now a small composition root in lab/world/lab.py."""

from lab.world.lab import LAB_EPOCH, Lab, tune_gc
from lab.world.ledger import Label
from lab.world.topology import TOPOLOGIES, node_names, topology_edges

__all__ = ["LAB_EPOCH", "TOPOLOGIES", "Lab", "Label", "node_names", "topology_edges", "tune_gc"]

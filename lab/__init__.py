"""Blockchain Lab: a small blockchain network of real nodes, driven from one prompt."""

__version__ = "0.1.0"

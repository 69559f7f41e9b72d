"""Consensus: pure rules and state, no sockets, no printing, no wall clock."""

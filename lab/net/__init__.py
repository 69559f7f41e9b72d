"""Network layer: wire framing, messages, peers, nodes, the fabric of links."""

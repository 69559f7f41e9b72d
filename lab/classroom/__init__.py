"""The classroom: many labs joined into one peer-to-peer network.

Foundations only so far: the class messages (`messages`), admission and
host-signed control (`auth`), the roster and split policy (`roster`) and
outbound peer choice from `addr` gossip (`discovery`). Nothing here does I/O.
"""

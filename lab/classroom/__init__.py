"""The classroom: many labs joined into one peer-to-peer network.

Foundations only so far, pure logic without I/O: the class messages
(`messages`, with names and the control vocabulary in `control`), admission
by class code and host-signed control (`auth`), the roster and split policy
(`roster`), outbound peer choice from `addr` gossip (`discovery`).
Security and protocol notes: docs/CLASSROOM.md.
"""

"""The lab as a small composition root over parts with one concern each.

- `log`: the one event log of typed events (lab/events.py)
- `ledger`: labels, and every block and transaction any node saw
- `topology`: the links that should exist, partitions, cuts, eclipses, link settings
- `pacing`: auto / step / live, settling, running virtual time
- `mining`: `mine`, `forge`, the auto-miners and their hashrates
- `attack`: who withholds or plays selfish, their private chains and
  transactions (eclipses are part of `topology`)
- `queries`: read models over the nodes and the log, for views, predicates,
  the toolbar and lessons
- `lab`: `Lab`, which builds the parts and wires them
- `savefile`, `digest`: a whole lab in one file, and one hash of its state

Nothing here prints or holds a sentence: those are in lab/render.
"""

"""Every error the lab raises on purpose has one root, `LabError`.

Consensus failures carry a reason code, Bitcoin Core's string where one
exists (`bad-txns-inputs-missingorspent`), so a learner can look it up.
"""

from __future__ import annotations


class LabError(Exception):
    """Root of every error the lab raises on purpose."""


class ValidationError(LabError):
    """A block or transaction broke a consensus or policy rule."""

    def __init__(self, code: str, detail: str = "", *, punish: bool = True) -> None:
        self.code = code  # Bitcoin Core's reject reason where one exists
        self.detail = detail  # one plain sentence for the learner
        self.punish = punish  # realname: the DoS / misbehaviour decision
        super().__init__(f"{code}: {detail}" if detail else code)


class ProtocolError(LabError):
    """A peer sent bytes that do not follow the wire protocol."""

    def __init__(self, reason: str) -> None:
        self.reason = reason  # the peer is dropped for it
        super().__init__(reason)


class CommandError(LabError):
    """A command cannot run; says what went wrong and what to type instead."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint  # what to type instead, e.g. "did you mean `mine A`?"
        super().__init__(f"{message} ({hint})" if hint else message)


class WalletError(CommandError):
    """A payment cannot be made: not enough coins, bad address, bad amount."""


class LessonError(LabError):
    """A lesson file is malformed: names the file, the field and the fault."""

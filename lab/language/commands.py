"""Every command of the lab, declared once: usage, help, aliases, hints, what it changes.

The order is the order of `help`. Adding a command is one declaration here
plus one handler bound to its name in lab/commands/registry.py.
"""

from __future__ import annotations

from lab.language.spec import CommandSpec, Language
from lab.language.words import TOPOLOGIES
from lab.params import ERAS_KEPT

NODE = "node"


def _view(name: str, usage: str, summary: str, args: tuple[str, ...] = (),
          arity: tuple[int, int | None] | None = (0, None)) -> CommandSpec:
    """A view: it looks and changes nothing."""
    return CommandSpec(name, usage, summary, category="view", args=args, settles=False, read_only=True,
                       arity=arity)


def _lesson(name: str, usage: str, summary: str, args: tuple[str, ...] = (), read_only: bool = False,
            arity: tuple[int, int | None] | None = (0, None)) -> CommandSpec:
    """A lesson command: the lesson session answers it; it is never counted or put in a lesson file."""
    return CommandSpec(name, usage, summary, category="lesson", args=args, settles=False, read_only=read_only,
                       lesson_word=True, in_lesson_files=False, arity=arity)


SPECS: tuple[CommandSpec, ...] = (
    # -- the lab itself ------------------------------------------------------------------------
    CommandSpec("help", "help [COMMAND]", "list commands, or explain one", aliases=("?",), category="meta",
                args=("command",), settles=False, read_only=True),
    CommandSpec("quit", "quit", "leave the lab", aliases=("exit",), category="meta", settles=False,
                in_lesson_files=False),
    CommandSpec("seed", "seed N", "start a fresh lab with this seed (same nodes and topology)", category="meta",
                settles=False, in_lesson_files=False, arity=(1, 1)),
    CommandSpec("reset", "reset", "start again: a fresh lab from its seed; in a lesson, this step (`reset lesson`: the whole lesson)", category="meta",
                settles=False, lesson_word=True, in_lesson_files=False),
    # -- mining and payments -----------------------------------------------------------------------
    CommandSpec("mine", "mine NODE [N] [as NAME]", "NODE finds N blocks now (real proof of work)",
                args=(NODE,), examples=("mine A", "mine B 3", "mine C as fork1"), arity=(1, 2)),
    CommandSpec("send", "send FROM TO AMOUNT [fee F] [as NAME]", "FROM pays AMOUNT coins to TO's address",
                args=(NODE, NODE), examples=("send A B 10", "send A C 2.5 fee 0.01 as pay1",
                                             "send A D 10 via D conflicting pay1 as twin   # a double spend"),
                help="Options: `fee F` (default 0.0001), `as NAME` (a label for later commands),\n"
                     "`via NODE` (the wallet hands the transaction to NODE instead of its own node),\n"
                     "`conflicting NAME` (spend exactly the coins of the earlier payment NAME: a double spend).",
                arity=(3, 3)),
    CommandSpec("forge", "forge NODE RULE", "NODE mines a block that breaks RULE and sends it to its peers",
                args=(NODE, "rule"),
                help="RULE: overpay, double-spend, bad-signature, bad-merkle, future-time, bad-pow.\n"
                     "Watch every honest node check the block on its own, reject it, and disconnect the forger.",
                arity=(2, 2)),
    CommandSpec("autominer", "autominer on [INTERVAL] | autominer off",
                "let nodes mine on their own as virtual time passes",
                args=("word:on|off",), examples=("autominer on", "autominer on 1m"),
                help="Each node finds blocks at random (exponential waits, from the seed) in proportion to its\n"
                     "hashrate share, so the whole network averages one block per INTERVAL (default 10m).",
                arity=(1, 2)),
    CommandSpec("hashrate", "hashrate NODE PERCENT", "set NODE's share of the mining power", args=(NODE,),
                arity=(2, 2)),
    CommandSpec("difficulty", "difficulty BITS|retarget N",
                "proof of work for new blocks: hashes must start with BITS zero bits",
                examples=("difficulty 12", "difficulty retarget 2"),
                help="16 bits means about 65,536 tries per block. Takes effect from the next block height,\n"
                     "like a rule change with an activation height.\n"
                     "`difficulty retarget N`: every N blocks each branch adjusts its own target to how fast its\n"
                     "last blocks came (one per 10 virtual minutes wanted), as Bitcoin does every 2,016 blocks;\n"
                     "`difficulty retarget off` ends it."),
    # -- the attacker's seat (issue 14) ----------------------------------------------------------------
    CommandSpec("withhold", "withhold NODE on|off", "NODE keeps the blocks it mines and its own txs to itself",
                args=(NODE, "word:on|off"), examples=("withhold E on", "mine E 2", "publish E"),
                help="While on, NODE's miner extends its own private chain (its last withheld block, or its best\n"
                     "tip when it holds none) even when the public chain is longer, and puts the transactions its\n"
                     "wallet makes (kept private) in it. It stays a full node: it checks and stores every public\n"
                     "block. `off` publishes what it holds and hands its private transactions to its mempool.",
                arity=(2, 2)),
    CommandSpec("publish", "publish NODE [N]", "NODE announces its N oldest withheld blocks (all without N)",
                args=(NODE,), examples=("publish E", "publish E 1"), arity=(1, 2)),
    CommandSpec("strategy", "strategy NODE honest|selfish", "how NODE plays when its miner finds blocks",
                args=(NODE, "word:honest|selfish"), examples=("strategy E selfish", "autominer on", "run 2h"),
                help="selfish is Eyal & Sirer's algorithm (2013): keep new blocks private; when the public chain\n"
                     "catches up to one behind, publish to tie and race; at a lead of two, publish all and win;\n"
                     "further ahead, publish one at a time. Every move is narrated. honest publishes at once.",
                arity=(2, 2)),
    CommandSpec("eclipse", "eclipse NODE by A[,B...]", "NODE's only peers become A,B..., which feed it only their own",
                category="network", args=(NODE, "word:by", NODE), examples=("eclipse D by E", "heal"),
                help="No other node can connect to NODE; A,B... relay it nothing but the blocks they mined and\n"
                     "the transactions they made. `heal` ends it.", arity=(3, None)),
    # -- the network ------------------------------------------------------------------------------------
    CommandSpec("relay", "relay push|inv", "how nodes pass on a new block: push it whole, or announce it first",
                category="network", args=("word:push|inv",),
                help="push (the default): a node that gets a new tip sends the whole block to its peers at once,\n"
                     "  as Bitcoin Core does with compact blocks to its high-bandwidth peers (BIP 152): one message a hop.\n"
                     "inv: the node announces the block (inv); a peer that lacks it asks (getdata) and gets it (block):\n"
                     "  three messages a hop, the classic relay, easy to watch in `mode step`.", arity=(0, 1)),
    CommandSpec("connect", "connect A B", "open a connection between A and B", category="network", args=(NODE, NODE),
                arity=(2, 2)),
    CommandSpec("disconnect", "disconnect A B", "close the connection between A and B", category="network",
                args=(NODE, NODE), arity=(2, 2)),
    CommandSpec("partition", "partition A,B | C,D", "cut every link between the groups", category="network",
                args=(NODE,), examples=("partition A,B | C,D", "partition A | B,C,D"), arity=None),
    CommandSpec("heal", "heal", "undo partitions and one-way cuts; reconnect the topology", category="network"),
    CommandSpec("cut", "cut A -> B", "one-way cut: A's messages to B are lost", category="network", args=(NODE,),
                arity=None),
    CommandSpec("latency", "latency A B 200ms | latency all 50ms | latency A,B | C,D 300ms", "set link latency",
                category="network", args=(NODE, NODE), arity=None),
    CommandSpec("loss", "loss A B PERCENT", "lose this share of the frames on the link A <-> B", category="network",
                args=(NODE, NODE), arity=(3, 3)),
    CommandSpec("topology", "topology " + "|".join(TOPOLOGIES) + " K", "rewire the network", category="network",
                args=("word:" + "|".join(TOPOLOGIES),), arity=(1, 2)),
    CommandSpec("hold", "hold A B", "hold frames from A to B until `release A B`", category="network",
                args=(NODE, NODE), arity=(2, 2)),
    CommandSpec("release", "release A B", "deliver the frames held from A to B", category="network",
                args=(NODE, NODE), arity=(2, 2)),
    CommandSpec("drop", "drop MSG_ID", "lose one frame in flight (see `queue`)", category="network", arity=(1, 1)),
    CommandSpec("add-node", "add-node [NAME]", "a new node joins with an empty chain and syncs", category="network"),
    CommandSpec("stop", "stop NODE", "take a node offline (it keeps its chain)", category="network", args=(NODE,),
                arity=(1, 1)),
    CommandSpec("start", "start NODE", "bring a stopped node back; it reconnects and catches up", category="network",
                args=(NODE,), arity=(1, 1)),
    # -- pacing ----------------------------------------------------------------------------------------
    CommandSpec("mode", "mode auto|step|live",
                "auto: settle after each command; step: frame by frame; live: real time",
                category="pace", args=("word:auto|step|live",), settles=False, arity=(1, 1)),
    CommandSpec("step", "step [N]", "deliver the next N frames in flight", category="pace", settles=False),
    CommandSpec("run", "run DURATION | run until quiet", "let virtual time pass", category="pace", settles=False,
                examples=("run 30s", "run 10m", "run until quiet"), arity=(1, 2)),
    CommandSpec("speed", "speed FACTOR", "live mode: virtual seconds per wall second", category="pace",
                settles=False, arity=(1, 1)),
    CommandSpec("check", "check PREDICATE", "test a statement about the lab (lesson goals use the same)",
                category="meta", args=("predicate",), settles=False, read_only=True,
                examples=("check same-tip", "check height A >= 5", "check confirmed pay1 on C",
                          "check not forked"), arity=None),
    # -- keeping a lab: save, load, back (issue 15) ------------------------------------------------
    CommandSpec("save", "save FILE", "the whole lab to one file (SQLite), atomically", category="meta",
                settles=False, read_only=True, arity=(1, 1), args=("file",),
                examples=("save forks.lab",),
                help="The file holds how the lab was built and every command that changed it (replayed by `load`),\n"
                     "and every node's blocks (Bitcoin's raw bytes), tips, mempools, labels and links, which\n"
                     "`sqlite3 FILE` shows. A crash or a full disk leaves an older file with that name intact."),
    CommandSpec("load", "load FILE", "replace the lab with a saved one (`lab --load FILE` at start)",
                category="meta", settles=False, arity=(1, 1), args=("file",),
                help="The saved lab is rebuilt by replaying its commands and checked against the file before it\n"
                     "replaces yours; a missing, damaged, foreign or newer file changes nothing."),
    CommandSpec("back", "back [N]", "return to the state before your last N commands that changed the lab",
                category="meta", settles=False, arity=(0, 1),
                examples=("back", "back 3"),
                help="Views and `check` change nothing, so they do not count. Works anywhere, in a lesson too\n"
                     "(the lesson goes back with the lab). A command that replaced the lab (`reset`, `seed`, `lesson`,\n"
                     "`load`, a lesson's `next` or `undo`) counts as one: `back` returns to the lab before it\n"
                     f"(the last {ERAS_KEPT} such labs are kept; `history` names them)."),
    CommandSpec("history", "history", "the commands that changed the lab since it started, numbered, with virtual times",
                category="meta", settles=False, read_only=True, arity=(0, 0)),
    CommandSpec("digest", "digest", "one line: a digest of every node's tip, UTXO set and mempool",
                category="meta", settles=False, read_only=True, arity=(0, 0),
                help="Two labs with the same digest agree on every node's tip, coins and waiting transactions."),
    # -- experiments (issue 14) ------------------------------------------------------------------------
    CommandSpec("experiment", "experiment stale|selfish|double-spend [PARAM VALUES]... [runs R] [blocks N] [seed S] "
                "[csv FILE]", "measure fresh labs against the papers: a table and a chart",
                category="meta", args=("word:stale|selfish|double-spend",), settles=False, read_only=True,
                examples=("experiment stale latency 1s,5s,10s", "experiment selfish alpha 0.25,0.33,0.4 blocks 1000",
                          "experiment double-spend q 0.1,0.3 z 1,2,...,6 runs 100 csv ds.csv"),
                help="Each run is a fresh lab of real nodes from a seed derived from `seed` (default 1): the same\n"
                     "command prints the same table anywhere. stale [latency 1s,5s,10s] [interval 60s];\n"
                     "selfish [alpha 0.1,0.2,0.3,0.4] [gamma 0|0.5|1]; double-spend [q 0.1,0.3] [z 1,2,...,6].\n"
                     "`a,b,...,c` counts from a in steps of b - a. `csv FILE` writes the rows. Ctrl-C stops and\n"
                     "keeps the rows finished. Your own lab is left as it is.", arity=(1, None)),
    # -- looking around -------------------------------------------------------------------------------
    _view("nodes", "nodes [--ports]", "every node: height, tip, peers, mempool, address (--ports: its socket)",
          arity=(0, 1)),
    _view("status", "status", "mode, virtual time, agreement, partitions, frames in flight"),
    _view("balance", "balance [NODE]", "what each node's wallet sees: spendable, maturing, pending",
          args=(NODE,)),
    _view("mempool", "mempool NODE", "transactions waiting in NODE's mempool", args=(NODE,), arity=(1, 1)),
    _view("chain", "chain NODE [N]", "the last N blocks of NODE's active chain", args=(NODE,), arity=(1, 2)),
    _view("tree", "tree", "the fork tree of every block any node knows, with each node's tip"),
    _view("block", "block ID|HEIGHT [raw] [on NODE]", "one block: header fields and transactions",
          args=("label",), arity=(1, 1)),
    _view("tx", "tx ID [raw]", "one transaction: inputs, outputs, where each node has it", args=("label",),
          arity=(1, 1)),
    _view("peers", "peers NODE", "NODE's connections", args=(NODE,), arity=(1, 1)),
    _view("diff", "diff A B", "where two nodes' chains split, and their mempool differences",
          args=(NODE, NODE), arity=(2, 2)),
    _view("explain", "explain [NODE]", "in words: why NODE is on its tip, and what its last reorg did",
          args=(NODE,)),
    _view("trace", "trace NAME", "who first had a block or transaction, from whom, and when: the propagation tree",
          args=("label",), arity=(1, 1)),
    _view("log", "log [N]", "the last N narrated events, including the details"),
    _view("queue", "queue", "frames in flight: id, link, type, summary, arrival"),
    _view("msg", "msg ID", "one frame: decoded fields and its bytes", arity=(1, 1)),
    # -- the class network (issue 16) ------------------------------------------------------------------
    CommandSpec("class", "class | class split NAMES | NAMES ... | class heal | class latency NAMES | NAMES D | "
                "class autominer on [INTERVAL] | off | class leave",
                "a class of labs on many laptops: the roster and groups; the host splits, heals, sets latency",
                category="network", settles=False, arity=None,
                examples=("class", "class split alice bob | carol dave", "class heal", "class leave")),
    # -- lessons --------------------------------------------------------------------------------------
    _lesson("lessons", "lessons [new FILE]", "the lessons, with your progress; `lessons new FILE`: a lesson "
            "skeleton from this lab (for authors)", args=("word:new",), read_only=True),
    _lesson("lesson", "lesson ID", "start a lesson (by number or name); your lab is replaced by its scenario",
            args=("lesson",), arity=(1, 1)),
    _lesson("objective", "objective", "what the current lesson step asks you to do"),
    _lesson("goal", "goal", "the step's goal, which parts already hold, and why not"),
    _lesson("hint", "hint", "the next hint for this step (vaguest first)"),
    _lesson("solution", "solution [yes]", "the reference solution (asks first while unsolved)"),
    _lesson("next", "next", "skip to the next step"),
    _lesson("undo", "undo", "take back your last command line (at a step's start: the one that reached the step before)"),
)

LANGUAGE = Language(SPECS)


def names_a_file(name: str, args: list[str]) -> bool:
    """Whether command `name` with these words reads or writes a file it names: `save FILE`,
    `load FILE`, `experiment ... csv FILE`, `lessons new FILE`, `lesson FILE.toml`.

    A lesson file may not run such a command, and `lab grade` skips them when it replays a
    submission: a file from someone else must not write over (or read) files of whoever runs it.
    """
    words = [w.lower() for w in args]
    return (name in ("save", "load") or (name == "experiment" and "csv" in words)
            or (name == "lessons" and words[:1] == ["new"]) or (name == "lesson" and any(w.endswith(".toml") for w in words)))

"""Every tunable constant of the lab, each with its Bitcoin value and why ours differs.

Quantities are small so that lessons stay short; the mechanisms are Bitcoin's.
"""

from __future__ import annotations

# --- money -----------------------------------------------------------------
COIN = 100_000_000  # base units per coin ("satoshis"); same as Bitcoin
MAX_MONEY = 21_000_000 * COIN  # same as Bitcoin: no output or sum may exceed it
INITIAL_SUBSIDY = 50 * COIN  # same as Bitcoin's first era
HALVING_INTERVAL = 150  # 210,000 in Bitcoin; 150 as in Bitcoin's regtest
COINBASE_MATURITY = 3  # 100 in Bitcoin; short so lessons stay short
MAX_COINBASE_DATA = 100  # bytes; coinbase scriptSig is 2..100 bytes in Bitcoin
MIN_COINBASE_DATA = 2

# --- blocks ----------------------------------------------------------------
BLOCK_VERSION = 4  # header version; Bitcoin blocks signal 0x2000_0000+ (BIP9)
MAX_BLOCK_SIZE = 1_000_000  # bytes; Bitcoin counts 4,000,000 weight units
MAX_TX_SIZE = 100_000  # bytes; Bitcoin's standardness limit is 400,000 weight
MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60  # seconds; same as Bitcoin (2 hours)
MEDIAN_TIME_SPAN = 11  # blocks; same as Bitcoin (median time past)
TARGET_BLOCK_INTERVAL = 600  # seconds of *virtual* time; same as Bitcoin
MAX_ORPHAN_BLOCKS = 100  # blocks with unknown parent kept (Bitcoin 0.9 kept 750)

# --- proof of work ---------------------------------------------------------
# The lab states difficulty as "leading zero bits" of the block hash: 16 means
# the hash must start with four hex zeros, about 65,536 tries, ~50 ms here.
DEFAULT_DIFFICULTY = 16  # Bitcoin today needs ~78 zero bits; regtest needs 1
MIN_DIFFICULTY = 1  # the proof-of-work limit (regtest: 0x207fffff)
MAX_DIFFICULTY = 32  # above this a block takes minutes in Python
RETARGET_INTERVAL = 0  # blocks; 2,016 in Bitcoin; 0 = off (like regtest)
RETARGET_CLAMP = 4  # a retarget moves the target at most x4 or /4, as Bitcoin

# --- transactions and mempool ------------------------------------------------
SEQUENCE_FINAL = 0xFFFF_FFFF
LOCKTIME_THRESHOLD = 500_000_000  # below: a height, above: a unix time (same)
MIN_RELAY_FEE_PER_KB = 1_000  # base units per 1,000 bytes; same as Bitcoin
DUST_THRESHOLD = 546  # base units; Bitcoin's dust limit for a P2PKH output
DEFAULT_FEE = 10_000  # base units (0.0001 coin) the wallet pays when not told
MAX_MEMPOOL_TXS = 5_000  # Bitcoin bounds the mempool by 300 MB instead
MAX_ORPHAN_TXS = 100  # same as Bitcoin's historical orphan pool
MAX_SIGCACHE_ENTRIES = 100_000  # Bitcoin sizes its cache in MB (32 MB)

# --- genesis ---------------------------------------------------------------
GENESIS_TIME = 1_231_006_505  # Bitcoin's genesis timestamp (3 Jan 2009)
GENESIS_MESSAGE = b"The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"

# --- keys and addresses ----------------------------------------------------
ADDRESS_VERSION = 0x6F  # base58 version byte of testnet/regtest (addresses m.. / n..)

# --- wire protocol ---------------------------------------------------------
MAGIC = bytes.fromhex("fabfb5da")  # Bitcoin regtest's network magic
PROTOCOL_VERSION = 70016  # Bitcoin Core 0.21+'s protocol version
USER_AGENT = "/blockchain-lab:0.1.0/"
MAX_PAYLOAD = 4_000_000  # bytes; same as Bitcoin (MAX_PROTOCOL_MESSAGE_LENGTH)
MAX_INV = 50_000  # entries in inv / getdata / notfound; same as Bitcoin
MAX_HEADERS = 2_000  # entries in a headers message; same as Bitcoin
MAX_LOCATOR = 101  # entries in a block locator; same as Bitcoin
MAX_ADDR = 1_000  # entries in an addr message; same as Bitcoin
MAX_USER_AGENT = 256  # bytes; same as Bitcoin
MAX_SEND_QUEUE = 8 * 1024 * 1024  # bytes queued to one peer before we drop it
REQUEST_TIMEOUT = 2_000_000  # virtual µs before an unanswered getdata is asked again
#   (Bitcoin: 2 s block stalling timeout; 60 s for transactions)
MAX_REQUEST_TRIES = 4  # then give up until the next announcement
GETDATA_BATCH = 16  # blocks asked for at once while syncing (Bitcoin: 16 in flight)
MAX_LIVE_PEERS = 32  # outsiders (not lab nodes) connected to one node at once; Bitcoin: 125 slots
MAX_KNOWN_INVENTORY = 50_000  # hashes remembered per peer / recently rejected; Bitcoin: 50,000-entry filter
MAX_PEER_TX_REQUESTS = 5_000  # tx requests one peer may have outstanding; Bitcoin: MAX_PEER_TX_ANNOUNCEMENTS
MAX_PEER_BLOCK_REQUESTS = 1_000  # blocks asked from one peer at once off its `inv`s; more go through headers
SETTLE_MAX_BLOCKS = 20  # auto-mined blocks one settle may run before the prompt comes back busy
MAX_LOG_RECORDS = 200_000  # events the lab's log holds at least; older ones dropped in chunks (counts kept)
MAX_NARRATED_PER_PEER = 20  # rejections/orphans/bad frames of one outsider narrated, then counted quietly
# Wall-clock limits for peers that are not part of the lab (a raw socket):
HANDSHAKE_TIMEOUT = 5.0  # seconds; 60 in Bitcoin, scaled down for a lab
FRAME_TIMEOUT = 5.0  # seconds a half-received frame may stall
DISCOURAGE_SECONDS = 24 * 60 * 60  # Bitcoin discourages for ~a day (rolling filter)
SEND_PAUSE_BYTES = 1_000_000  # an outsider's unread output past which nothing more is served (Core: fPauseSend
#   at -maxsendbuffer, 1 MB); resumed when it reads
RECV_PAUSE_BYTES = 5_000_000  # frames read from an outsider and not yet handled, past which its socket is
#   not read (Core: fPauseRecv at -maxreceivebuffer, 5 MB)
GETDATA_TXS_PER_TURN = 100  # getdata: tx items served to an outsider in one batch, blocks one per batch
#   (Core's ProcessGetData: "only process one BLOCK item per call")
GETDATA_BYTES_PER_TURN = 100_000  # batches served to an outsider in one turn of the event loop, up to this

# --- the network fabric ----------------------------------------------------
DEFAULT_NODES = 4
DEFAULT_SEED = 1
DEFAULT_LATENCY_MS = 50  # one-way link latency; a fast continental link
DEFAULT_JITTER = 0.1  # +-10 % seeded jitter on every frame

# --- what an outsider can make a node store (issue 12; Bitcoin Core's answers) ---
# Blocks and transactions cost a node memory; these caps are in bytes of the
# serialised data (a block held as Python objects takes ~10x that in RAM).
MAX_ORPHAN_TX_BYTES = 1_000_000  # txs with an unknown parent, with MAX_ORPHAN_TXS (Core: 100 of <= 100 kvB each)
MAX_ORPHAN_BLOCK_BYTES = 2_000_000  # blocks with unknown parent; Core keeps none since 0.10 (headers-first)
MAX_SIDE_BRANCH_BYTES = 4_000_000  # blocks off the active chain; Core prunes by disk space instead
MIN_CHAIN_WORK_DEPTH = 144  # headers whose chain ends more than this many tip blocks' work below
#   the tip are not stored (realname: nMinimumChainWork, headers presync); 144 = a day of blocks
MAX_MEMPOOL_BYTES = 3_000_000  # serialised bytes of mempool txs (Core: -maxmempool 300 MB); with MAX_MEMPOOL_TXS
MAX_ANCESTORS = 25  # unconfirmed ancestors a mempool tx may have, itself included (-limitancestorcount)
MAX_ANCESTOR_BYTES = 101_000  # their total size (Core: 101 kvB, -limitancestorsize)
MAX_DESCENDANTS = 25  # unconfirmed descendants of any mempool tx, itself included (-limitdescendantcount)
MAX_DESCENDANT_BYTES = 101_000  # their total size (-limitdescendantsize)

# --- keeping a lab (issue 15) ------------------------------------------------
ERAS_KEPT = 20  # labs that `reset`, `seed`, `lesson`, `load` ... replaced and `back` can return to
#   (each is its record of commands and its proof-of-work answers, in memory; lab/commands/eras.py)

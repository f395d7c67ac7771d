"""A customer's personal details: read with an audit row, erased on request
(docs/requirements.md §6).

Reports, the board and search attributes work on codes (tier, category, channel, status,
times) and the customer id — never on names, contacts or the customer's own words — so
erasure blanks exactly those and every figure stays as it was.

The code that opens or blanks those details is split by what it does, each with its own
callers and its own rules:

- `reads.py`: a person's read of a customer's details, logged in the same transaction,
  the log of those reads, and the look-up by contact that opens nothing;
- `sending.py`: what a message needs opened (a machine use, so not logged as a read);
- `erasure.py`: crypto-shredding a customer;
- `seal_existing.py`: the one-off migration that seals rows written before sealing.

Callers import this package (`from csflow.store import personal`); every public name is
re-exported here.
"""

from csflow.crypto.at_rest import ERASED
from csflow.store.personal.erasure import OUT_OF_BAND_SEQ, OpenRequests, erase_customer
from csflow.store.personal.reads import (
    CustomerDetails,
    CustomerWords,
    Reader,
    ReadRecord,
    read_customer,
    reads_of,
    requests_by_contact,
)
from csflow.store.personal.seal_existing import (
    SEAL_BATCH,
    SEALED_TABLES,
    SealTally,
    TableTally,
    seal_existing,
    vacuum_sealed,
)
from csflow.store.personal.sending import (
    PROBLEM_REFERENCE,
    contact_for_sending,
    improvement_problem,
    resolve_problem_references,
)

__all__ = [
    "ERASED",
    "OUT_OF_BAND_SEQ",
    "PROBLEM_REFERENCE",
    "SEALED_TABLES",
    "SEAL_BATCH",
    "CustomerDetails",
    "CustomerWords",
    "OpenRequests",
    "ReadRecord",
    "Reader",
    "SealTally",
    "TableTally",
    "contact_for_sending",
    "erase_customer",
    "improvement_problem",
    "read_customer",
    "reads_of",
    "requests_by_contact",
    "resolve_problem_references",
    "seal_existing",
    "vacuum_sealed",
]

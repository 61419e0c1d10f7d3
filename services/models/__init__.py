"""The hall's tables. Import from here: `from services.models import Unit, Person…`."""

from .account_event import AccountEvent
from .job import Job
from .ledger import BIZ_TYPES, LedgerEntry
from .manifest import ManifestRow
from .money import InterestSettlement, Payable, PayableLine, Payment, UnitBalance
from .org import City, Operator, Staff, Unit, UnitAccount
from .person import BasePeriod, Person, PersonAccount
from .records import ChangeRecord, Message
from .sequence import NumberSequence
from .stash import Stash
from .ukey import UKeyAuthority, UKeyCertificate, UKeyChallenge

__all__ = [
    "BIZ_TYPES",
    "AccountEvent",
    "BasePeriod",
    "ChangeRecord",
    "City",
    "InterestSettlement",
    "Job",
    "LedgerEntry",
    "ManifestRow",
    "Message",
    "NumberSequence",
    "Operator",
    "Payable",
    "PayableLine",
    "Payment",
    "Person",
    "PersonAccount",
    "Staff",
    "Stash",
    "UKeyAuthority",
    "UKeyCertificate",
    "UKeyChallenge",
    "Unit",
    "UnitAccount",
    "UnitBalance",
]

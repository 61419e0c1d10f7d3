"""The hall's tables. Import from here: `from services.models import Unit, Person…`."""

from .ledger import BIZ_TYPES, LedgerEntry
from .org import City, Operator, Staff, Unit, UnitAccount
from .person import BasePeriod, Person, PersonAccount
from .records import ChangeRecord, Message
from .sequence import NumberSequence
from .ukey import UKeyAuthority, UKeyCertificate, UKeyChallenge

__all__ = [
    "BIZ_TYPES",
    "BasePeriod",
    "ChangeRecord",
    "City",
    "LedgerEntry",
    "Message",
    "NumberSequence",
    "Operator",
    "Person",
    "PersonAccount",
    "Staff",
    "UKeyAuthority",
    "UKeyCertificate",
    "UKeyChallenge",
    "Unit",
    "UnitAccount",
]

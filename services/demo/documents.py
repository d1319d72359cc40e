"""The upstream event documents the demo writes, and the business ids of an agent's book.

Business ids: an agent's book of policies in force ``PB-<agent>-nnnn`` with customers
``CB-<agent>-nnnn`` (renewed each year on the same date); renewals ``RN-YYYYMMDD-<agent>-nnnn``
(by due date).
"""

import zlib
from datetime import date
from typing import Final

from .profiles import ProductLine
from .sampling import PRODUCTS

Document = dict[str, object]

SCHEMA_VERSION: Final = 1


def renewal_id(agent_id: str, due: date, book_index: int) -> str:
    return f"RN-{due:%Y%m%d}-{agent_id}-{book_index:04d}"


def book_policy(agent_id: str, book_index: int) -> str:
    return f"PB-{agent_id}-{book_index:04d}"


def book_customer(agent_id: str, book_index: int) -> str:
    # About three book policies in ten belong to a customer with another policy in the book.
    return f"CB-{agent_id}-{book_index * 7 // 10:04d}"


def book_product(agent_id: str, book_index: int) -> ProductLine:
    u = zlib.crc32(f"{agent_id}:{book_index}".encode()) / 2**32
    line = PRODUCTS.pick(u)
    assert isinstance(line, ProductLine)
    return line

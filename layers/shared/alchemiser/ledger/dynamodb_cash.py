"""The DynamoDB items of the books' own cash: accounts, transfers, account snapshots.

| entity             | pk                    | sk                 |
|--------------------|-----------------------|--------------------|
| cash of an account | CASH                  | {account}          |
| transfer           | TRANSFER#{id}         | META               |
|   (gsi1)           | gsi1pk TRANSFERS#{date}, gsi1sk {transfer_id}  |    |
| account snapshot   | ACCOUNT               | SNAP#{date}        |

A day's transfers are listed from gsi1 (eventually consistent, as the other GSI reads).
A transfer is one TransactWriteItems: Put the transfer (``attribute_not_exists``) and
``ADD`` its amount to both accounts (``EXTERNAL`` has no item), so recording it twice
moves nothing. A fill that carries its cash adds it to its book's cash item inside the
fill's own transaction (``alchemiser.ledger.dynamodb``). Tables made before books kept
their own cash simply have none of these items yet: nothing to migrate in the table;
the cycle opens each book's cash (``alchemiser.books.opening``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alchemiser.ledger.models import EXTERNAL, Transfer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

CASH_PK = "CASH"
ACCOUNT_PK = "ACCOUNT"


def transfers_pk(day: object) -> str:
    """Return the gsi1 partition of one day's transfers."""
    return f"TRANSFERS#{day}"


def transfer_key(transfer_id: str) -> tuple[str, str]:
    """Return a transfer's (pk, sk): keyed by its id, so it is recorded once whatever its day."""
    return f"TRANSFER#{transfer_id}", "META"


def add_cash(table: str, account: str, amount: Decimal) -> UpdateTypeDef:
    """Add ``amount`` to one account's cash item (created at 0 when missing)."""
    value: AttributeValueTypeDef = {"N": format(amount, "f")}
    return {
        "TableName": table,
        "Key": {"pk": {"S": CASH_PK}, "sk": {"S": account}},
        "UpdateExpression": "SET account = :account ADD amount :amount",
        "ExpressionAttributeValues": {":account": {"S": account}, ":amount": value},
    }


def transfer_transaction(
    table: str, transfer: Transfer, item: dict[str, Any]
) -> list[TransactWriteItemTypeDef]:
    """Put the transfer once ever and move its cash on both sides (not the outside's)."""
    items: list[TransactWriteItemTypeDef] = [
        {
            "Put": {
                "TableName": table,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    ]
    for account, amount in (
        (transfer.source, -transfer.amount),
        (transfer.destination, transfer.amount),
    ):
        if account != EXTERNAL:
            items.append({"Update": add_cash(table, account, amount)})
    return items

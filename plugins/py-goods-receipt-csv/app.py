"""Inbound mapper: a 3PL/warehouse goods-receipt CSV file -> canonical `goods-receipt` events.

Implements world `inbound-mapper` of `millwright:adapter@0.1.0` (see ../../wit) in Python, built into a
WebAssembly component with componentize-py (see build.sh). The `wit_world` package imported below does not
live in this folder: componentize-py generates it from the WIT files at build time.

One CSV data row becomes one `canonical-event.goods-receipt`. The file is UTF-8 (a byte-order mark is
allowed), comma-separated, with a header row naming at least these columns, in any order (case and
surrounding spaces do not matter; extra columns are ignored):

    receipt_id, asn_ref, po_number, po_line, item, quantity_received, quantity_accepted, unit, lot,
    location, received_at

`asn_ref`, `po_number`, `po_line` and `lot` may be empty; every other column needs a value. Blank lines (and
rows whose fields are all empty, as spreadsheets write them) are skipped. Rows are numbered from 1 for the
first data row; that number goes into the event id and the idempotency key. Lines are the physical lines of
the file, 1-based, header included: that is what every diagnostic points at.

Host imports used: `config("source-system")`, `lookup("items", <supplier part>)`,
`lookup("units", <unit code>)`, `now()` and one `log` line per mapped document.
"""

import csv
import decimal
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Dict, List, NoReturn, Optional, Tuple

from wit_world import exports
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports import types as wit

PLUGIN_NAME = "py-goods-receipt-csv"
PLUGIN_VERSION = "0.1.0"
DOCUMENT_TYPE = "csv:goods-receipt"

# The header columns this mapper needs, in the order the 3PL export writes them.
COLUMNS = (
    "receipt_id",
    "asn_ref",
    "po_number",
    "po_line",
    "item",
    "quantity_received",
    "quantity_accepted",
    "unit",
    "lot",
    "location",
    "received_at",
)
# Columns that may be left empty in a row.
OPTIONAL_COLUMNS = frozenset({"asn_ref", "po_number", "po_line", "lot"})

# Warehouse unit codes -> UN/ECE Recommendation 20, used when the tenant's `units` table does not know a code.
BUILTIN_UNITS = {
    "EA": "H87",  # each
    "PC": "H87",  # piece
    "LB": "LBR",  # pound
    "KG": "KGM",  # kilogram
    "CT": "CT",  # carton
}

# A quantity as a warehouse writes it: digits with an optional decimal point and fraction. No sign, no
# exponent, no thousands separator, no NaN/Infinity (all of which Python's Decimal would otherwise accept).
DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")

# Stable machine codes for `diagnostic.code`, so tests and operators can tell failures apart.
CODE_NOT_UTF8 = "csv-not-utf8"
CODE_EMPTY = "csv-empty"
CODE_SYNTAX = "csv-syntax"
CODE_MISSING_COLUMNS = "csv-missing-columns"
CODE_DUPLICATE_COLUMN = "csv-duplicate-column"
CODE_FIELD_COUNT = "csv-field-count"
CODE_MISSING_VALUE = "missing-value"
CODE_BAD_QUANTITY = "invalid-quantity"
CODE_ACCEPTED_EXCEEDS_RECEIVED = "accepted-exceeds-received"
CODE_BAD_TIMESTAMP = "invalid-timestamp"
CODE_UNKNOWN_UNIT = "unknown-unit"
CODE_LOOKUP_UNAVAILABLE = "lookup-unavailable"


# --- errors -------------------------------------------------------------------------------------------------


def _position(line: Optional[int] = None, element: Optional[int] = None,
              byte_offset: Optional[int] = None) -> wit.Position:
    """A position in the CSV file: `line` is the physical line (1-based), `element` the column (1-based)."""
    return wit.Position(transaction=None, segment_index=None, segment_id=None, element=element,
                        component=None, line=line, json_path=None, byte_offset=byte_offset)


def _invalid(message: str, code: str, line: Optional[int] = None, element: Optional[int] = None,
             byte_offset: Optional[int] = None) -> NoReturn:
    """Fails the document for good: the host dead-letters it and never retries."""
    raise Err(wit.MappingError_InvalidDocument(
        wit.Diagnostic(message=message, at=_position(line, element, byte_offset), code=code)))


def _unknown_reference(message: str, code: str, line: int, element: int) -> NoReturn:
    """Parks the document until the tenant's master data knows the reference."""
    raise Err(wit.MappingError_UnknownReference(
        wit.Diagnostic(message=message, at=_position(line, element), code=code)))


def _transient(message: str, code: str, line: Optional[int] = None,
               element: Optional[int] = None) -> NoReturn:
    """Asks the host to retry later."""
    raise Err(wit.MappingError_Transient(
        wit.Diagnostic(message=message, at=_position(line, element), code=code)))


# --- host master data -----------------------------------------------------------------------------------------


class MasterData:
    """The tenant's lookup tables, asked once per (table, key) within one document.

    A table the tenant does not have counts as empty (the mapper then falls back as documented); a table
    the host cannot read right now fails the document as transient, since mapping without it could give a
    different answer than mapping with it.
    """

    def __init__(self) -> None:
        self._cache: Dict[Tuple[str, str], Optional[str]] = {}
        self._missing_tables: set = set()

    def get(self, table: str, key: str, line: int, element: int) -> Optional[str]:
        if table in self._missing_tables:
            return None
        if (table, key) not in self._cache:
            try:
                value = host.lookup(table, key)
            except Err as err:
                if isinstance(err.value, host.LookupError_NoSuchTable):
                    self._missing_tables.add(table)
                    return None
                _transient(f"lookup table '{table}' could not be read for key '{key}': {err.value.value}",
                           CODE_LOOKUP_UNAVAILABLE, line, element)
            self._cache[(table, key)] = value
        return self._cache[(table, key)]


# --- field parsing --------------------------------------------------------------------------------------------


def _decode(payload: bytes) -> str:
    """The payload as text: UTF-8, with an optional byte-order mark."""
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as err:
        line = payload.count(b"\n", 0, err.start) + 1
        _invalid(f"the file is not UTF-8: byte 0x{payload[err.start]:02X} at offset {err.start} (line {line}) "
                 f"cannot be decoded; export the receipts as UTF-8", CODE_NOT_UTF8, line=line,
                 byte_offset=err.start)
    return text[1:] if text.startswith("\ufeff") else text


def _decimal(value: str, column: str, line: int, element: int) -> decimal.Decimal:
    """Checks that a quantity is a plain non-negative decimal and returns its exact value."""
    if value.startswith("-") and DECIMAL_RE.match(value[1:]):
        _invalid(f"{column} '{value}' on line {line} is negative; a receipt counts goods that arrived",
                 CODE_BAD_QUANTITY, line, element)
    if not DECIMAL_RE.match(value):
        _invalid(f"{column} '{value}' on line {line} is not a decimal number (write digits with an optional "
                 f"'.' and fraction, e.g. 12 or 12.500)", CODE_BAD_QUANTITY, line, element)
    return decimal.Decimal(value)


def _subtract_exactly(a: decimal.Decimal, b: decimal.Decimal) -> str:
    """a - b, exact, keeping the larger scale of the two ("10.500" - "2" = "8.500")."""
    digits = len(a.as_tuple().digits) + len(b.as_tuple().digits) + 2
    ctx = decimal.Context(prec=digits, traps=[decimal.Inexact, decimal.InvalidOperation])
    return format(ctx.subtract(a, b), "f")


def _timestamp(value: str, column: str, line: int, element: int) -> wit.Timestamp:
    """An ISO 8601 date-time with offset -> UTC (RFC 3339, `Z`) plus the original offset in minutes."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        why = "has no UTC offset" if parsed is not None else "is not an ISO 8601 date and time"
        _invalid(f"{column} '{value}' on line {line} {why}; write it like 2024-05-01T08:15:00-05:00",
                 CODE_BAD_TIMESTAMP, line, element)
    offset = parsed.utcoffset() or timedelta(0)
    if offset.total_seconds() % 60:
        _invalid(f"{column} '{value}' on line {line} has an offset that is not whole minutes",
                 CODE_BAD_TIMESTAMP, line, element)
    utc = parsed.astimezone(timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return wit.Timestamp(utc=text + "Z", original_offset_minutes=int(offset.total_seconds()) // 60)


# --- the document ---------------------------------------------------------------------------------------------


class Row:
    """One data row: its values by column name, where it sits, and helpers that locate their errors."""

    def __init__(self, number: int, line: int, values: Dict[str, str], columns: Dict[str, int]) -> None:
        self.number = number  # 1 = first data row
        self.line = line  # physical line in the file, 1-based
        self._values = values
        self._columns = columns  # column name -> 1-based field position

    def element(self, column: str) -> int:
        return self._columns[column]

    def get(self, column: str) -> str:
        """The value, stripped; fails the document when a required column is empty."""
        value = self._values[column]
        if not value and column not in OPTIONAL_COLUMNS:
            _invalid(f"{column} is empty on line {self.line}; every receipt row needs one",
                     CODE_MISSING_VALUE, self.line, self.element(column))
        return value

    def optional(self, column: str) -> Optional[str]:
        return self._values[column] or None


def _rows(text: str) -> List[Row]:
    """Parses the CSV text into rows, checking the header and the field count of every row."""
    if not text.strip():
        _invalid("the file is empty; expected a header row and one row per goods receipt", CODE_EMPTY,
                 line=1)

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: Optional[List[str]] = None
    columns: Dict[str, int] = {}
    rows: List[Row] = []
    previous_end = 0  # the last physical line the reader consumed
    try:
        for fields in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(field.strip() for field in fields):
                continue  # a blank line, or a row of empty fields
            if header is None:
                header = [field.strip().lower() for field in fields]
                columns = _check_header(header, line)
                continue
            if len(fields) != len(header):
                _field_count_error(fields, header, line)
            values = {name: fields[columns[name] - 1].strip() for name in COLUMNS}
            rows.append(Row(len(rows) + 1, line, values, columns))
    except csv.Error as err:
        _invalid(f"line {reader.line_num} is not valid CSV: {err}", CODE_SYNTAX, line=reader.line_num)
    return rows


def _check_header(header: List[str], line: int) -> Dict[str, int]:
    """Maps each required column to its 1-based position; fails when one is missing or doubled."""
    positions: Dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        if name in positions and name in COLUMNS:
            _invalid(f"the header on line {line} names column {name} twice (fields {positions[name]} and "
                     f"{index})", CODE_DUPLICATE_COLUMN, line, index)
        positions.setdefault(name, index)
    missing = [name for name in COLUMNS if name not in positions]
    if missing:
        _invalid(f"the header on line {line} lacks column(s) {', '.join(missing)}; expected "
                 f"{','.join(COLUMNS)}", CODE_MISSING_COLUMNS, line=line)
    return {name: positions[name] for name in COLUMNS}


def _field_count_error(fields: List[str], header: List[str], line: int) -> NoReturn:
    if len(fields) < len(header):
        first_missing = header[len(fields)]
        _invalid(f"line {line} has {len(fields)} fields but the header has {len(header)}; the row ends "
                 f"before column {first_missing}", CODE_FIELD_COUNT, line, len(fields) + 1)
    extra = fields[len(header)]
    _invalid(f"line {line} has {len(fields)} fields but the header has {len(header)}; field "
             f"{len(header) + 1} ('{extra}') has no column", CODE_FIELD_COUNT, line, len(header) + 1)


def _unit(row: Row, master: MasterData) -> str:
    """The row's unit as a UN/ECE Rec 20 code: the tenant's `units` table first, then the built-in table."""
    code = row.get("unit")
    element = row.element("unit")
    mapped = master.get("units", code, row.line, element) or BUILTIN_UNITS.get(code.upper())
    if mapped is None:
        _unknown_reference(f"unit '{code}' on line {row.line} is in neither the tenant's units table nor the "
                           f"built-in table ({', '.join(BUILTIN_UNITS)}); add it to the units table",
                           CODE_UNKNOWN_UNIT, row.line, element)
    return mapped


def _goods_receipt(row: Row, envelope: wit.Envelope, source: str, posted_at: wit.Timestamp,
                   master: MasterData) -> wit.GoodsReceipt:
    """Maps one validated row."""
    receipt_id = row.get("receipt_id")
    supplier_part = row.get("item")

    received_text = row.get("quantity_received")
    accepted_text = row.get("quantity_accepted")
    received = _decimal(received_text, "quantity_received", row.line, row.element("quantity_received"))
    accepted = _decimal(accepted_text, "quantity_accepted", row.line, row.element("quantity_accepted"))
    if accepted > received:
        _invalid(f"quantity_accepted '{accepted_text}' on line {row.line} is more than quantity_received "
                 f"'{received_text}'", CODE_ACCEPTED_EXCEEDS_RECEIVED, row.line,
                 row.element("quantity_accepted"))
    rejected_text = _subtract_exactly(received, accepted)

    received_at = _timestamp(row.get("received_at"), "received_at", row.line, row.element("received_at"))
    location = row.get("location")
    unit = _unit(row, master)

    item_ids = [wit.Identifier(scheme=wit.IdScheme_VendorPart(), value=supplier_part)]
    internal_item = master.get("items", supplier_part, row.line, row.element("item"))
    if internal_item:
        item_ids.append(wit.Identifier(scheme=wit.IdScheme_Internal(), value=internal_item))

    po_number = row.optional("po_number")
    lot = row.optional("lot")

    header = wit.EventHeader(
        id=f"csv:{envelope.message_id}:{row.number}",
        source_system=source,
        tenant=envelope.tenant,
        site=None,
        event_time=received_at,
        correlation_id=envelope.correlation_id,
        idempotency_key=f"{source}:{receipt_id}:{row.number}",
    )
    return wit.GoodsReceipt(
        header=header,
        receipt_id=receipt_id,
        ship_notice_ref=row.optional("asn_ref"),
        order_ref=wit.OrderRef(order_id=po_number, release=None, order_date=None) if po_number else None,
        order_line=row.optional("po_line"),
        item=wit.ItemRef(ids=item_ids, description=None),
        quantity_received=wit.Quantity(value=received_text, unit=unit),
        quantity_accepted=wit.Quantity(value=accepted_text, unit=unit),
        quantity_rejected=wit.Quantity(value=rejected_text, unit=unit),
        discrepancy_reason=None,
        lots=[wit.LotRef(supplier_lot=lot, internal_lot=None, quantity=None, expiry=None, serials=[], sub_lot=None)]
        if lot else [],
        location=wit.Identifier(scheme=wit.IdScheme_Internal(), value=location),
        received_at=received_at,
        posted_at=posted_at,
    )


# --- the export -----------------------------------------------------------------------------------------------


class Inbound(exports.Inbound):
    """The `inbound` interface the host calls."""

    def describe(self) -> wit.PluginInfo:
        return wit.PluginInfo(
            name=PLUGIN_NAME,
            version=PLUGIN_VERSION,
            document_types=[DOCUMENT_TYPE],
            description="Goods receipts from a 3PL/warehouse CSV export, one canonical goods-receipt per row.",
        )

    def map(self, document: wit.Envelope) -> List[wit.CanonicalEvent]:
        """One goods-receipt event per data row; raises `Err(mapping-error)` for the first problem found."""
        if not document.payload:
            _invalid("the file is empty; expected a header row and one row per goods receipt", CODE_EMPTY,
                     line=1)
        rows = _rows(_decode(document.payload))

        source = host.config("source-system") or document.source
        master = MasterData()
        posted_at = host.now()
        events: List[wit.CanonicalEvent] = [
            wit.CanonicalEvent_GoodsReceipt(_goods_receipt(row, document, source, posted_at, master))
            for row in rows
        ]

        name = document.file_name or document.message_id
        host.log(host.LogLevel.INFO,
                 f"mapped {len(events)} goods receipt(s) from {name} (source {source})")
        return events

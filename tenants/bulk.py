"""Checking a CSV of new organizations, shared by `manage.py tenant create-bulk` and the
partner console's import. The whole file is checked before anything is created."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from orbit.lib.errors import OrbitError
from tenants.slugs import slug_from_name

BULK_REQUIRED_COLUMNS = ("name", "plan")
BULK_OPTIONAL_COLUMNS = ("slug", "kind", "parent", "domain", "owner_email")
# Partners create companies under themselves: no kind or parent column.
PARTNER_OPTIONAL_COLUMNS = ("slug", "owner_email")
# A malformed file is reported in one line; past this many problems the rest are counted.
MAX_PROBLEMS_SHOWN = 5
MAX_ROWS = 1000


class BulkFileError(OrbitError, ValueError):
    """The file was refused as a whole; the message says why (nothing was created)."""

    code = "bad_file"


@dataclass(frozen=True)
class BulkRow:
    number: int  # as a spreadsheet numbers it: the header is row 1
    fields: dict[str, str]  # organization_create's keyword arguments, empty cells left out


def decode_upload(data: bytes) -> str:
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkFileError("not UTF-8 text") from None


def parse_bulk_csv(lines: Iterable[str], *, optional_columns: tuple[str, ...] = BULK_OPTIONAL_COLUMNS) -> list[BulkRow]:
    """Every row as organization_create arguments, or BulkFileError naming what is wrong."""
    try:
        reader = csv.reader(lines)
        header = next(reader, None)
        records = [(reader.line_num, record) for record in reader if any(cell.strip() for cell in record)]
    except csv.Error as exc:
        raise BulkFileError(str(exc)) from None

    allowed = BULK_REQUIRED_COLUMNS + optional_columns
    expected = f"expected a header with {','.join(BULK_REQUIRED_COLUMNS)}[,{','.join(optional_columns)}]"
    if not header or not any(cell.strip() for cell in header):
        raise BulkFileError(f"empty file; {expected}")
    columns = [cell.strip().lower() for cell in header]
    unknown = [column for column in columns if column not in allowed]
    if unknown:
        raise BulkFileError(f"unknown column(s) {', '.join(map(repr, unknown))}; {expected}")
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        raise BulkFileError(f"column(s) {', '.join(repeated)} appear more than once")
    missing = [column for column in BULK_REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise BulkFileError(f"missing column(s) {', '.join(missing)}; {expected}")
    if not records:
        raise BulkFileError("no rows below the header")
    if len(records) > MAX_ROWS:
        raise BulkFileError(f"too many rows: at most {MAX_ROWS} a file")

    rows, problems, first_row_by_slug = [], [], {}
    for number, record in records:
        if len(record) > len(columns):
            problems.append(f"row {number} has {len(record)} fields for {len(columns)} columns")
            continue
        fields = {column: value.strip() for column, value in zip(columns, record, strict=False) if value.strip()}
        empty = [column for column in BULK_REQUIRED_COLUMNS if column not in fields]
        if empty:
            problems.append(f"row {number} has no {' or '.join(empty)}")
            continue
        slug = (fields.get("slug") or slug_from_name(fields["name"])).lower()
        if slug in first_row_by_slug:
            problems.append(f"rows {first_row_by_slug[slug]} and {number} both have slug {slug!r}")
        else:
            first_row_by_slug[slug] = number
        rows.append(BulkRow(number=number, fields=fields))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise BulkFileError(f"nothing created: {shown}{more}")
    return rows


def parse_bulk_upload(data: bytes, *, optional_columns: tuple[str, ...] = PARTNER_OPTIONAL_COLUMNS) -> list[BulkRow]:
    return parse_bulk_csv(io.StringIO(decode_upload(data), newline=""), optional_columns=optional_columns)

"""Spreadsheet in -> validated pod rows + row-level errors, before anything is written.

Pure: bytes in, frozen dataclasses and named tuples out; no database, no streamlit, no network.
The upload page reads a sheet (`read_sheet`), shows the suggested column mapping (`suggest_mapping`)
for the user to change, validates (`validate`), offers the `fixes` it found (`apply_fixes`, then
validate again), and hands the valid rows to the store (`Validation.pod_columns`: column by
column). Every rejected row keeps its original values and its errors so nothing is silently
dropped; `rejected_to_csv` gives them back to fix and re-upload.

One job per module: `model` (the dataclasses and limits), `reading` (files -> RawSheet, bounded),
`encoding` (bytes -> text in any encoding), `columns` (headers -> pod fields), `values` (one cell
-> one value), `rows` (validate a sheet), `states` (state names and boxes), `output` (templates and
rejected rows). This package re-exports the public names.
"""
from podgeo.sheets.columns import suggest_mapping
from podgeo.sheets.encoding import sample_lines, unsure_encoding
from podgeo.sheets.model import (GRADE_RANGE, LIMITS, MAX_BYTES, MAX_DISTRICT_ROWS, MAX_RATIO, MAX_UNCOMPRESSED, MAX_ZIP_MEMBERS,
                                 POD_FIELDS, RULES, TARGETS, Fix, Limits, RawSheet, RejectedRow, RowError, SheetError,
                                 Validation, ValidRow)
from podgeo.sheets.output import rejected_to_csv, rejected_to_xlsx, template_csv, template_xlsx, xlsx_text
from podgeo.sheets.reading import check_district_sheet, read_sheet
from podgeo.sheets.rows import apply_fixes, validate

__all__ = ["GRADE_RANGE", "LIMITS", "MAX_BYTES", "MAX_DISTRICT_ROWS", "MAX_RATIO", "MAX_UNCOMPRESSED", "MAX_ZIP_MEMBERS", "POD_FIELDS",
           "RULES", "TARGETS", "Fix", "Limits", "RawSheet", "RejectedRow", "RowError", "SheetError", "Validation",
           "ValidRow", "apply_fixes", "check_district_sheet", "read_sheet", "rejected_to_csv", "rejected_to_xlsx", "sample_lines",
           "suggest_mapping", "template_csv", "template_xlsx", "unsure_encoding", "validate", "xlsx_text"]

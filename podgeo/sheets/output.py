"""Files podgeo writes from sheets: the upload templates and the rejected rows, formula-safe."""
from __future__ import annotations

import csv
import io
import re
from typing import Iterator

from podgeo import vocab
from podgeo.cells import safe_cell  # one rule for every file podgeo writes
from podgeo.sheets.columns import _HELP, _VOCAB_COLUMNS
from podgeo.sheets.model import POD_FIELDS, Validation


def rejected_to_csv(validation: Validation) -> bytes:
    """The rejected rows (original values + an `errors` column) as UTF-8 CSV, safe to open in Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in _rejected_table(validation):
        writer.writerow([safe_cell(v) for v in line])
    return out.getvalue().encode("utf-8-sig")


def rejected_to_xlsx(validation: Validation) -> bytes:
    """The rejected rows as an .xlsx workbook; same columns and escaping as `rejected_to_csv`."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "rejected rows"
    for line in _rejected_table(validation):
        ws.append([xlsx_text(safe_cell(v)) for v in line])
    ws.freeze_panes = "A2"
    return _save(wb)


def template_csv() -> bytes:
    """Upload template: the header row, then one help row (description and allowed values) that uploads skip."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(POD_FIELDS)
    writer.writerow([safe_cell(_HELP[c]) for c in POD_FIELDS])
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """Upload template as .xlsx: sheet 'pods' (header + help row, drop-downs) and sheet 'allowed values'."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "pods"
    ws.append(list(POD_FIELDS))
    ws.append([xlsx_text(safe_cell(_HELP[c])) for c in POD_FIELDS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for cell in ws[2]:
        cell.font = Font(italic=True, color="666666")
    ws.freeze_panes = "A3"
    for i, column in enumerate(POD_FIELDS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(column) + 4))

    allowed = wb.create_sheet("allowed values")
    allowed.append(["column", "code", "label", "also accepted"])
    for cell in allowed[1]:
        cell.font = Font(bold=True)
    ranges = {}
    for column, terms in _VOCAB_COLUMNS.items():
        start = allowed.max_row + 1
        for term in terms:
            allowed.append([column, term.code, term.label, "; ".join(term.synonyms)])
        ranges[column] = f"'allowed values'!$C${start}:$C${allowed.max_row}"
    for code, label in vocab.GRADES:
        allowed.append(["grade_low / grade_high", label, label, "TK, Pre-K, KG, 1st, Grade 3" if code < 1 else ""])
    for width, letter in zip((22, 22, 34, 60), "ABCD"):
        allowed.column_dimensions[letter].width = width
    for column in ("operator_type", "mode", "cost", "status"):
        letter = get_column_letter(POD_FIELDS.index(column) + 1)
        dv = DataValidation(type="list", formula1=ranges[column], allow_blank=True, showErrorMessage=False)
        ws.add_data_validation(dv)
        dv.add(f"{letter}3:{letter}5000")
    return _save(wb)


def _rejected_table(validation: Validation) -> Iterator[list[str]]:
    yield [*validation.columns, "errors"]
    for rejected in validation.rejected:
        yield [*(rejected.values.get(c, "") for c in validation.columns), rejected.error_text]



_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_text(text: str) -> str:
    """openpyxl refuses control characters and would store '='-text as a formula; strings stay strings."""
    return _ILLEGAL_XLSX.sub("", text)


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

"""Hostile sheets from issue 10, built in memory: shared by tests/test_sheets_hostile.py and bench/sheet_limits.py.

Each is what an attacker or a careless partner could upload; a name -> (filename, bytes) factory so
the bench can measure each refusal in a fresh process.
"""
from __future__ import annotations

import io
import re
import zipfile


def _xlsx(build) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    build(wb.active)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite_sheet(data: bytes, edit) -> bytes:
    """The workbook with xl/worksheets/sheet1.xml passed through `edit` (text -> text)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = edit(body.decode("utf-8")).encode("utf-8")
            dst.writestr(info.filename, body)
    return out.getvalue()


def far_cell_xlsx() -> bytes:
    """~1.6 KB, as in the issue: a minimal workbook written by hand (no styles, inline strings) with a
    header and one cell at XFD1048576, the last cell Excel has, so the declared range is the whole grid."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}"><sheets><sheet '
        'name="Sheet" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><dimension '
        'ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" '
        't="inlineStr"><is><t>lat</t></is></c><c r="C1" t="inlineStr"><is><t>lon</t></is></c></row><row '
        'r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return out.getvalue()


def far_cell_lying_dimension_xlsx() -> bytes:
    """The same cell, but the sheet declares A1:C1: only streaming the rows can find it."""
    return _rewrite_sheet(far_cell_xlsx(), lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:C1"', xml))


def far_cell_no_dimension_xlsx() -> bytes:
    """The far cell with no <dimension> element at all (it is optional)."""
    return _rewrite_sheet(far_cell_xlsx(), lambda xml: re.sub(r"<dimension [^>]*/>", "", xml))


def row_beyond_excel_xlsx() -> bytes:
    """A row numbered 2,000,000, past Excel's 1,048,576 (openpyxl cannot write one, so the XML is edited)."""
    def build(ws):
        ws.append(["name", "lat", "lon"])
        ws.append(["Oak Hub", 37.8, -122.27])
        ws.append(["Far Hub", 37.8, -122.27])

    def edit(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:C3"', xml)
        return xml.replace('<row r="3"', '<row r="2000000"').replace('r="A3"', 'r="A2000000"') \
            .replace('r="B3"', 'r="B2000000"').replace('r="C3"', 'r="C2000000"')
    return _rewrite_sheet(_xlsx(build), edit)


def rows_out_of_order_xlsx() -> bytes:
    """Row 3 stored before row 2: openpyxl's read-only reader would silently drop one."""
    def build(ws):
        ws.append(["name", "lat", "lon"])
        ws.append(["Oak Hub", 37.8, -122.27])
        ws.append(["Pine Pod", 37.7, -122.2])

    def edit(xml: str) -> str:
        rows = re.findall(r"<row [^>]*>.*?</row>", xml)
        return xml.replace(rows[1] + rows[2], rows[2] + rows[1])
    return _rewrite_sheet(_xlsx(build), edit)


def merge_bomb_xlsx(ranges: int = 1_000_000) -> bytes:
    """A million merged ranges after one data row (openpyxl's own parser took 60 s and 650 MB on them)."""
    def build(ws):
        ws.append(["name", "lat", "lon"])
        ws.append(["Oak Hub", 37.8, -122.27])
    merges = f'<mergeCells count="{ranges}">' + "".join(f'<mergeCell ref="A{i}:B{i}"/>' for i in range(3, ranges + 3))
    return _rewrite_sheet(_xlsx(build), lambda xml: xml.replace("</sheetData>", "</sheetData>" + merges
                                                                + "</mergeCells>", 1))


def with_shared_strings(sst_items: str) -> bytes:
    """The minimal workbook with a shared-string table (`<si>` items, as XML) and A2 = string 0."""
    src = zipfile.ZipFile(io.BytesIO(far_cell_xlsx()))
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           '2006/main">' + sst_items + "</sst>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info).decode()
            if info.filename == "[Content_Types].xml":
                body = body.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace("</Relationships>", '<Relationship Id="rId2" Type="http://schemas.openxmlformats.'
                                    'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                    "</Relationships>")
            elif info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace("A1:XFD1048576", "A1:C2").replace(
                    '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
                    '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2"><v>37.8</v></c><c r="C2"><v>-122.27</v></c>'
                    "</row>")
            dst.writestr(info.filename, body)
        dst.writestr("xl/sharedStrings.xml", sst)
    return out.getvalue()


def shared_strings_bomb_xlsx(strings: int = 1_200_000) -> bytes:
    """1.2 million distinct texts in ~5 MB (openpyxl's own reader spent 123 s and 420 MB on 2.5 million)."""
    return with_shared_strings("<si><t>Oak Hub</t></si>" + "".join(f"<si><t>s{i:08d}</t></si>" for i in range(strings)))


def wide_header_csv(columns: int = 100_000) -> bytes:
    """A header of 100,000 columns (fuzzy header matching once cost ~1 ms a column: ~110 s)."""
    return (",".join(f"column {i}" for i in range(columns)) + "\nOak Hub\n").encode()


def many_rows_csv(rows: int = 6_000_000) -> bytes:
    """6 million tiny rows in 24 MB (read whole, they once took 3.2 GB)."""
    return b"a,b\n" * rows


def long_cell_csv(chars: int = 40_000) -> bytes:
    return b"name,notes\nOak Hub," + b"x" * chars + b"\n"


def grid_bomb_csv(rows: int = 150_000, columns: int = 450) -> bytes:
    """Many one-cell rows and one wide row: padding every row to the widest would build rows x columns cells."""
    return b"name\n" + b"Oak\n" * rows + b"," * (columns - 1) + b"x\n"


def unbalanced_quote_csv() -> bytes:
    """Issue 10's sheet: the quote opened on line 2 swallows the three lines after it."""
    return (b"name,lat,lon,state,notes\n"
            b'Pod A,37.70,-122.40,CA,"opens 9am\n'
            b"Pod B,37.71,-122.41,CA,closed\n"
            b"Pod C,37.72,-122.42,CA,\n"
            b"Pod D,37.73,-122.43,CA,open\n")


#: every hostile file the limits must refuse, by name
REFUSED = {
    "far_cell.xlsx": far_cell_xlsx,
    "far_cell_lying_dimension.xlsx": far_cell_lying_dimension_xlsx,
    "far_cell_no_dimension.xlsx": far_cell_no_dimension_xlsx,
    "row_beyond_excel.xlsx": row_beyond_excel_xlsx,
    "rows_out_of_order.xlsx": rows_out_of_order_xlsx,
    "merge_bomb.xlsx": merge_bomb_xlsx,
    "shared_strings_bomb.xlsx": shared_strings_bomb_xlsx,
    "wide_header.csv": wide_header_csv,
    "many_rows.csv": many_rows_csv,
    "long_cell.csv": long_cell_csv,
    "grid_bomb.csv": grid_bomb_csv,
    "unbalanced_quote.csv": unbalanced_quote_csv,
}

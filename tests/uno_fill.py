"""Fill cells of a workbook through LibreOffice Calc itself (Python-UNO), as a coder types them.

Run by a Python that has LibreOffice's ``uno`` module (Debian: /usr/bin/python3 with the
python3-uno package), while ``soffice --headless`` listens on a named pipe:

    /usr/bin/python3 tests/uno_fill.py <pipe name> <in.xlsx> <out.xlsx> <cells.json>

``cells.json`` is ``{sheet: {A1 cell: text}}``. Each text is entered as typed input
(``XCell.setFormula``, what Calc does with a typed entry: ``1`` becomes the number 1, ``x`` a
text), then the document is stored with Calc's "Calc MS Excel 2007 XML" filter (File > Save
As > Excel 2007-365) and LibreOffice is asked to quit. Used by tests/test_libreoffice_uno.py;
no project code is imported (the Debian Python has none of the project's packages).
"""
import contextlib
import json
import sys
import time

import uno  # noqa: I001 (LibreOffice's bridge; it makes the com.sun.star modules importable)
from com.sun.star.beans import PropertyValue


def _property(name, value):
    prop = PropertyValue()
    prop.Name, prop.Value = name, value
    return prop


def _connect(pipe: str, timeout: float = 120):
    """The component context of the soffice listening on ``pipe`` (retried while it starts)."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:  # NoConnectException until soffice listens
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def main(pipe: str, source: str, target: str, cells_json: str) -> None:
    with open(cells_json, encoding="utf-8") as handle:
        cells = json.load(handle)
    context = _connect(pipe)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0,
                                            (_property("Hidden", True),))
    try:
        for sheet_name, typed in cells.items():
            sheet = document.Sheets.getByName(sheet_name)
            for a1, text in typed.items():
                sheet.getCellRangeByName(a1).setFormula(text)
        document.storeToURL(uno.systemPathToFileUrl(target),
                            (_property("FilterName", "Calc MS Excel 2007 XML"),))
    finally:
        document.close(True)
        with contextlib.suppress(Exception):  # the bridge closes as LibreOffice quits
            desktop.terminate()
    print(f"stored {target}")


if __name__ == "__main__":
    main(*sys.argv[1:5])

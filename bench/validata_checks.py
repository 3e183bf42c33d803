"""What Validata's rules cost: a check with the schemas' custom checks and columns by name,
against the same check with the custom checks taken out of the schema.

For the subventions (two SIRET checks and one-of-required per row) and the
defibrillators (three SIREN and one SIRET check per row), a CSV of ROWS rows is
made by repeating the demo sample's rows, and also an XLSX of XLSX_ROWS rows;
each is checked by tabular.check in this process (no CKAN, no database); CPU seconds
(time.process_time), so that a loaded machine does not skew them. Both files are valid.

    .venv/bin/python bench/validata_checks.py [ROWS] [XLSX_ROWS]
"""

from __future__ import annotations

import io
import re
import sys
import time
from pathlib import Path

import openpyxl
import yaml

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from ckanext.mel import tabular  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
XLSX_ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
SAMPLES = ROOT / "ckanext" / "mel" / "demo" / "samples"
MODELS = {
    "scdl-subventions": "villeneuve-d-ascq-subventions-2024.csv",
    "schema-dae": "villeneuve-d-ascq-defibrillateurs.csv",
}


def schema_of(model_id: str) -> dict:
    import json

    entries = yaml.safe_load((ROOT / "ckanext" / "mel" / "datamodels" / "models.yaml").read_text("utf-8"))
    (entry,) = [e for e in entries if e["id"] == model_id]
    return json.loads((ROOT / "ckanext" / "mel" / "datamodels" / entry["schema"]).read_text("utf-8"))


def repeated(sample: str, rows: int) -> tuple[bytes, list[str], list[str]]:
    lines = (SAMPLES / sample).read_text("utf-8").splitlines()
    header, body = lines[0], lines[1:]
    # Serial numbers must be unique (defibrillators): each repeated line gets its own.
    many = [re.sub(r"VDA-DAE-\d+", f"VDA-DAE-{i:07d}", body[i % len(body)]) for i in range(rows)]
    return ("\n".join([header, *many]) + "\n").encode("utf-8"), header, many


def workbook(text: bytes) -> bytes:
    import csv

    reader = csv.reader(io.StringIO(text.decode("utf-8")), delimiter=";" if b";" in text[:500] else ",")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in reader:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(content: bytes, schema: dict) -> tuple[float, tabular.Report]:
    started = time.process_time()
    report = tabular.check(content, schema, limits=tabular.Limits())
    return time.process_time() - started, report


def main() -> None:
    print(f"{'model':<18} {'file':<5} {'rows':>7} {'with checks':>12} {'without':>9} {'cost':>6}  verdict")
    for model_id, sample in MODELS.items():
        schema = schema_of(model_id)
        bare = {k: v for k, v in schema.items() if k != "custom_checks"}
        content, _header, _rows = repeated(sample, ROWS)
        small, _h, _r = repeated(sample, XLSX_ROWS)
        for kind, data, rows in (("csv", content, ROWS), ("xlsx", workbook(small), XLSX_ROWS)):
            with_checks, report = timed(data, schema)
            without, _ = timed(data, bare)
            cost = (with_checks - without) / without * 100
            print(
                f"{model_id:<18} {kind:<5} {rows:>7} {with_checks:>11.2f}s {without:>8.2f}s {cost:>5.0f}%  "
                f"{report.status}"
            )


if __name__ == "__main__":
    main()

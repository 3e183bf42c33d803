"""Write the corpus of tricky files (tests/files/validata/) from the demo samples.

Each case is a small variation of a demo file that once made the portal and
Validata disagree, or could: custom checks, header order, extra and missing
columns, header case, encodings, separators, spreadsheets. `cases.json` lists
each file with its data model (or a schema of this folder); the verdicts
Validata gives are recorded apart, in `validata.json`, by `run_validata.py`
run in a virtualenv that has validata-table (see the README's validation
section). Run from the repository: `.venv/bin/python tests/files/validata/make_corpus.py`.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import ezodf
import openpyxl
import yaml

HERE = Path(__file__).parent
SAMPLES = HERE.parents[2] / "ckanext" / "mel" / "demo" / "samples"
DATAMODELS = HERE.parents[2] / "ckanext" / "mel" / "datamodels"
CASES: list[dict[str, str]] = []


def sample(name: str) -> tuple[list[str], list[list[str]]]:
    text = (SAMPLES / name).read_bytes().decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return rows[0], rows[1:]


def write_csv(
    name: str,
    model: str,
    header: list[str],
    rows: list[list[str]],
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
    newline: str = "\n",
    about: str = "",
) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows([header, *rows])
    data = out.getvalue().encode(encoding)
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    CASES.append({"file": name, "model": model, "about": about})


def column(header: list[str], rows: list[list[str]], name: str, values: list[str]) -> list[list[str]]:
    index = header.index(name)
    changed = [list(row) for row in rows]
    for row, value in zip(changed, values, strict=False):
        row[index] = value
    return changed


def drop(header: list[str], rows: list[list[str]], *names: str) -> tuple[list[str], list[list[str]]]:
    keep = [i for i, h in enumerate(header) if h not in names]
    return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]


def swap(header: list[str], rows: list[list[str]], a: str, b: str) -> tuple[list[str], list[list[str]]]:
    i, j = header.index(a), header.index(b)
    order = list(range(len(header)))
    order[i], order[j] = j, i
    return [header[k] for k in order], [[row[k] for k in order] for row in rows]


def write_xlsx(
    name: str,
    model: str,
    header: list[str],
    rows: list[list[object]],
    about: str,
    sheets=(),
    sheet_title="Données",
    **case: str,
):
    book = openpyxl.Workbook()
    first = book.active
    for title, content in sheets:  # sheets before the data
        first.title = title
        for line in content:
            first.append(line)
        first = book.create_sheet()
    first.title = first.title if not sheets else sheet_title
    for line in [header, *rows]:
        first.append(line)
    for row in first.iter_rows():
        for cell in row:
            if isinstance(cell.value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
    book.save(HERE / name)
    CASES.append({"file": name, "model": model, "about": about, **case})


def write_ods(name: str, model: str, header: list[str], rows: list[list[object]], about: str):
    path = HERE / name
    document = ezodf.newdoc(doctype="ods", filename=str(path))
    sheet = ezodf.Sheet("Feuille1", size=(len(rows) + 1, len(header)))
    document.sheets += sheet
    for r, line in enumerate([header, *rows]):
        for c, value in enumerate(line):
            if value not in (None, ""):
                sheet[(r, c)].set_value(value)
    document.backup = False  # no .bak beside the file
    document.save()
    CASES.append({"file": name, "model": model, "about": about})


def main() -> None:
    sub_h, sub_r = sample("villeneuve-d-ascq-subventions-2024.csv")
    dae_h, dae_r = sample("villeneuve-d-ascq-defibrillateurs.csv")
    bgt_h, bgt_r = sample("villeneuve-d-ascq-compte-administratif-2023.csv")
    eqp_h, eqp_r = sample("lille-equipements-publics.csv")
    nai_h, nai_r = sample("armentieres-naissances-2024.csv")
    pre_h, pre_r = sample("villeneuve-d-ascq-prenoms-2024.csv")
    sub, dae, bgt, eqp, nai, pre = (
        "scdl-subventions",
        "schema-dae",
        "scdl-budget",
        "scdl-equipements",
        "mel-naissances",
        "scdl-prenoms",
    )

    # SIRET and SIREN checksums
    write_csv(
        "siret-demo-before-fix.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "idAttribuant", ["21590009300016"] * 8),
        ";",
        about="the demo's old SIRET, which fails its checksum",
    )
    write_csv(
        "siret-one-digit-off.csv",
        bgt,
        bgt_h,
        column(bgt_h, bgt_r, "BGT_SIRET", ["21590009300019"]),
        ";",
        about="one wrong SIRET on the first line, pattern right",
    )
    write_csv(
        "siret-with-spaces.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "idBeneficiaire", ["215 900 093 00018"]),
        ";",
        about="a SIRET written with spaces where the schema has no pattern: its checksum passes",
    )
    write_csv(
        "siret-la-poste.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "idBeneficiaire", ["35600000000105"]),
        ";",
        about="a La Poste establishment: no Luhn key, digits summing to a multiple of 5",
    )
    write_csv(
        "siret-la-poste-wrong.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "idBeneficiaire", ["35600000000101"]),
        ";",
        about="a La Poste number whose digits do not sum to a multiple of 5",
    )
    write_csv(
        "siret-letters.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "idBeneficiaire", ["2159000930001A"]),
        ";",
        about="a letter in a SIRET",
    )
    write_csv(
        "siret-short.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "idBeneficiaire", ["215900093"]),
        ";",
        about="a SIREN where a SIRET is expected",
    )
    write_csv(
        "siren-bad-checksum.csv",
        dae,
        dae_h,
        column(dae_h, dae_r, "expt_siren", ["215900094"]),
        about="a SIREN that fails its checksum",
    )
    write_csv(
        "siren-optional-empty.csv",
        dae,
        dae_h,
        column(dae_h, dae_r, "mnt_siren", [""] * 6),
        about="an optional SIREN left empty: not checked",
    )
    write_csv(
        "siren-good-maintainer.csv",
        dae,
        dae_h,
        column(dae_h, dae_r, "mnt_siren", ["333283844"] * 6),
        about="an optional SIREN filled and right",
    )
    write_csv(
        "siren-bad-maintainer.csv",
        dae,
        dae_h,
        column(dae_h, dae_r, "fab_siren", ["333204349"] * 2),
        about="an optional SIREN filled and wrong",
    )

    # One of idBeneficiaire and rnaBeneficiaire
    neither = column(sub_h, sub_r, "idBeneficiaire", [""] * 8)
    neither = column(
        sub_h, neither, "rnaBeneficiaire", ["", ""] + [r[sub_h.index("rnaBeneficiaire")] for r in sub_r[2:]]
    )
    write_csv("one-of-required-neither.csv", sub, sub_h, neither, ";", about="two lines with neither id")
    both = column(sub_h, sub_r, "idBeneficiaire", ["21590009300018"] * 8)
    write_csv("one-of-required-both.csv", sub, sub_h, both, ";", about="both ids on every line")
    h, r = drop(sub_h, both, "rnaBeneficiaire")
    write_csv(
        "one-of-required-rna-column-absent.csv",
        sub,
        h,
        r,
        ";",
        about="no rnaBeneficiaire column, idBeneficiaire always filled",
    )
    h, r = drop(sub_h, sub_r, "idBeneficiaire")
    write_csv(
        "one-of-required-id-column-absent.csv",
        sub,
        h,
        r,
        ";",
        about="no idBeneficiaire column, rnaBeneficiaire filled on every line",
    )
    h, r = drop(sub_h, column(sub_h, sub_r, "rnaBeneficiaire", [""]), "idBeneficiaire")
    write_csv(
        "one-of-required-id-column-absent-one-empty.csv",
        sub,
        h,
        r,
        ";",
        about="no idBeneficiaire column, rnaBeneficiaire empty on one line",
    )
    h, r = drop(sub_h, sub_r, "idBeneficiaire", "rnaBeneficiaire")
    write_csv("one-of-required-both-columns-absent.csv", sub, h, r, ";", about="neither column")

    # Columns matched by name
    write_csv(
        "extra-column.csv",
        nai,
        [*nai_h, "COMMENTAIRE"],
        [[*row, "ras"] for row in nai_r],
        about="an extra COMMENTAIRE column at the end",
    )
    h, r = nai_h[:2] + ["COMMENTAIRE"] + nai_h[2:], [row[:2] + ["vu"] + row[2:] for row in nai_r]
    write_csv("extra-column-in-the-middle.csv", nai, h, r, about="an extra column between two of the model's")
    h, r = swap(nai_h, nai_r, "NAISSANCES_FILLES", "NAISSANCES_GARCONS")
    write_csv("columns-swapped.csv", nai, h, r, about="two columns swapped with their headers")
    h, r = swap(eqp_h, eqp_r, "EQUIP_LAT", "COLL_NOM")
    write_csv("columns-swapped-far.csv", eqp, h, r, about="the first column and the latitude swapped")
    h, r = drop(nai_h, nai_r, "NAISSANCES")
    write_csv("missing-required-column.csv", nai, h, r, about="a required column missing")
    h, r = drop(pre_h, pre_r, "COLL_INSEE")
    write_csv(
        "missing-required-column-prenoms.csv",
        pre,
        h,
        r,
        ";",
        about="the INSEE code column missing from a long file",
    )
    h, r = drop(nai_h, nai_r, "NAISSANCES_FILLES", "NAISSANCES_GARCONS")
    write_csv("missing-optional-columns.csv", nai, h, r, about="two optional columns missing")
    h, r = drop(eqp_h, eqp_r, "EQUIP_WEB", "ERP_ID")
    h, r = swap(h, r, "EQUIP_TEL", "EQUIP_EMAIL")
    write_csv(
        "missing-optional-and-swapped.csv",
        eqp,
        [*h, "REMARQUE"],
        [[*x, ""] for x in r],
        about="optional columns missing, two swapped, one extra",
    )
    write_csv(
        "header-lower-case.csv",
        nai,
        [h_.lower() for h_ in nai_h],
        nai_r,
        about="the header in lower case (Validata compares case by default)",
    )
    write_csv(
        "header-one-lower-case.csv",
        nai,
        ["coll_insee", *nai_h[1:]],
        nai_r,
        about="one required column's name in lower case",
    )
    write_csv(
        "header-duplicate-extra.csv",
        nai,
        [*nai_h, "NAISSANCES"],
        [[*row, row[4]] for row in nai_r],
        about="a model column repeated at the end",
    )

    # Encodings, separators, values
    write_csv(
        "windows-1252-semicolon.csv",
        sub,
        sub_h,
        sub_r,
        ";",
        "cp1252",
        about="French Excel's CSV: Windows-1252 and semicolons",
    )
    write_csv(
        "utf8-bom-crlf.csv",
        nai,
        nai_h,
        nai_r,
        ",",
        bom=True,
        newline="\r\n",
        about="UTF-8 with a byte order mark and CRLF lines",
    )
    write_csv("comma-separated-subventions.csv", sub, sub_h, sub_r, ",", about="commas instead of semicolons")
    write_csv("tab-separated.csv", nai, nai_h, nai_r, "\t", about="tabs")
    write_csv(
        "date-french.csv",
        nai,
        nai_h,
        column(nai_h, nai_r, "PERIODE_FIN", ["31/01/2024"]),
        about="a date written 31/01/2024",
    )
    write_csv(
        "decimal-comma.csv",
        sub,
        sub_h,
        column(sub_h, sub_r, "montant", ["18500,50"]),
        ";",
        "cp1252",
        about="a decimal comma in an amount, as French Excel writes it",
    )
    write_csv(
        "french-excel-everything.csv",
        sub,
        sub_h,
        column(sub_h, column(sub_h, sub_r, "montant", ["18500,50"]), "dateConvention", ["12/02/2024"]),
        ";",
        "cp1252",
        newline="\r\n",
        about="French Excel: cp1252, ;, CRLF, decimal comma, French date",
    )
    write_csv(
        "coordinates-swapped.csv",
        eqp,
        eqp_h,
        [row[:15] + [row[16], row[15]] + row[17:] for row in eqp_r],
        about="latitude and longitude swapped: valid for both validators",
    )

    # Spreadsheets
    typed = [
        [_typed(v, name, "scdl-subventions") for v, name in zip(row, sub_h, strict=True)] for row in sub_r
    ]
    write_xlsx("subventions.xlsx", sub, sub_h, typed, "the subventions as an Excel workbook")
    write_xlsx(
        "subventions-bad-siret.xlsx",
        sub,
        sub_h,
        [
            [("21590009300016" if n == "idAttribuant" else v) for v, n in zip(row, sub_h, strict=True)]
            for row in typed
        ],
        "an Excel workbook with the old SIRET",
    )
    write_xlsx(
        "subventions-extra-column.xlsx",
        sub,
        [*sub_h, "COMMENTAIRE"],
        [[*row, "ok"] for row in typed],
        "an Excel workbook with an extra column",
    )
    write_xlsx(
        "subventions-siret-as-number.xlsx",
        sub,
        sub_h,
        [[(int(v) if n == "idAttribuant" else v) for v, n in zip(row, sub_h, strict=True)] for row in typed],
        "SIRETs typed as numbers in Excel",
    )
    nai_typed = [[_typed(v, n, nai) for v, n in zip(row, nai_h, strict=True)] for row in nai_r]
    notice = [("Notice", [["Naissances par mois, Armentières"], ["Source : état civil"]])]
    write_xlsx(
        "naissances-second-sheet.xlsx",
        nai,
        nai_h,
        nai_typed,
        "a notice on the first sheet, the data on a second sheet not named like the model",
        sheets=notice,
    )
    write_xlsx(
        "naissances-sheet-named-like-the-model.xlsx",
        nai,
        nai_h,
        nai_typed,
        "a notice on the first sheet, the data on the sheet named Naissances",
        sheets=notice,
        sheet_title="Naissances",
        portal="valid: the portal reads the sheet named like the model, Validata always the first sheet",
    )
    write_ods(
        "naissances.ods",
        nai,
        nai_h,
        [[_typed(v, n, nai) for v, n in zip(row, nai_h, strict=True)] for row in nai_r],
        "births as a LibreOffice sheet",
    )
    write_ods("naissances-text.ods", nai, nai_h, nai_r, "every cell typed as text in LibreOffice")
    write_ods(
        "subventions-bad-siret.ods",
        sub,
        sub_h,
        [
            [("21590009300016" if n == "idAttribuant" else v) for v, n in zip(row, sub_h, strict=True)]
            for row in sub_r
        ],
        "a LibreOffice sheet with the old SIRET",
    )
    h, r = swap(nai_h, nai_r, "COLL_NOM", "COLL_INSEE")
    write_ods("naissances-swapped.ods", nai, h, r, "columns swapped in a LibreOffice sheet")

    # Opening hours (the carpooling model's check), on a schema of this folder
    hours = [
        "Mo-Fr 08:00-18:00",
        "24/7",
        "Mo-Sa 07:00-20:00; PH off",
        "lundi au vendredi 8h-18h",
        "Mo-Fr 25:00-26:00",
        "",
    ]
    rows = [[f"L{i}", value] for i, value in enumerate(hours)]
    write_csv(
        "opening-hours.csv",
        "schema:horaires.json",
        ["id", "horaires"],
        rows,
        about="opening hours, two not in the OpenStreetMap syntax",
    )
    write_csv(
        "opening-hours-good.csv",
        "schema:horaires.json",
        ["id", "horaires"],
        [r for r in rows if r[1] not in (hours[3], hours[4])],
        about="opening hours, all right",
    )

    models = {m["id"]: m["schema"] for m in yaml.safe_load((DATAMODELS / "models.yaml").read_text("utf-8"))}
    root = HERE.parents[2]
    for case in CASES:
        model = case["model"]
        path = HERE / model[len("schema:") :] if model.startswith("schema:") else DATAMODELS / models[model]
        case["schema"] = str(path.relative_to(root))
    (HERE / "cases.json").write_text(json.dumps(CASES, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _typed(value: str, name: str, model: str) -> object:
    """A cell as a spreadsheet user types it: amounts as numbers, dates as dates, the rest as text."""
    if value == "":
        return None
    if name in ("montant", "pourcentageSubvention", "NAISSANCES", "NAISSANCES_FILLES", "NAISSANCES_GARCONS"):
        number = float(value)
        return int(number) if number.is_integer() else number
    if name in ("dateConvention", "PERIODE_DEBUT", "PERIODE_FIN"):
        return datetime.date.fromisoformat(value)
    return value


if __name__ == "__main__":
    main()

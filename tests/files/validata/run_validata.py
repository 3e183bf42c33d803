"""Record Validata's verdict on each file of the corpus, in validata.json.

Run with a Python that has validata-table 0.13.0 (its `validata_core` package),
from the repository's root:

    /tmp/validata-venv/bin/python tests/files/validata/run_validata.py

The portal's test suite never runs Validata: it compares the portal's verdicts
with the ones recorded here (tests/test_checks.py).
"""

import json
from importlib.metadata import version
from pathlib import Path

from validata_core import validate

HERE = Path(__file__).parent
ROOT = HERE.parents[2]

verdicts = {}
for case in json.loads((HERE / "cases.json").read_text("utf-8")):
    schema = json.loads((ROOT / case["schema"]).read_text("utf-8"))
    report = validate(str(HERE / case["file"]), schema).to_dict()
    verdicts[case["file"]] = {
        "valid": report["valid"],
        "errors": sorted({e["type"] for e in report["errors"]}),
        "error_count": len(report["errors"]),
        # Validata's own notices about the schema (deprecated check names) are not about the file.
        "warnings": [w for w in report["warnings"] if "custom check" not in w],
    }
output = {"validator": f"validata-table {version('validata-table')}", "verdicts": verdicts}
(HERE / "validata.json").write_text(json.dumps(output, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(len(verdicts), "files,", sum(v["valid"] for v in verdicts.values()), "valid")

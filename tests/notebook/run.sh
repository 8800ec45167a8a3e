#!/usr/bin/env bash
# Executes notebooks-output/explore.ipynb headless on fresh small runs, so it never rots:
# any failing cell (including its checks against `capsim compare`) fails this script.
# The executed copy, with its charts, is kept as notebooks-output/explore.executed.ipynb.
set -euo pipefail
cd "$(dirname "$0")/../.."
capsim=target/release/capsim
scenario=scenarios/glut-2026.yaml
"$capsim" run "$scenario" --replications 8 --out notebooks-output/explore-a --quiet
"$capsim" run "$scenario" --replications 8 --out notebooks-output/explore-b --quiet --set distributed.pricing.usd_per_gpu_hour=2.2
"$capsim" compare notebooks-output/explore-a notebooks-output/explore-b --out notebooks-output/explore-compare --quiet
python3 -m jupyter nbconvert --to notebook --execute notebooks-output/explore.ipynb \
    --output explore.executed.ipynb --ExecutePreprocessor.timeout=300
python3 - <<'PY'
import json
nb = json.load(open("notebooks-output/explore.executed.ipynb"))
images = sum("image/png" in o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
errors = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
assert not errors, errors
assert images >= 2, f"{images} charts drawn, expected 2"
print(f"notebook executed: {len(nb['cells'])} cells, {images} charts")
PY

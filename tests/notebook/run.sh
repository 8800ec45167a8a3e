#!/usr/bin/env bash
# Executes notebooks-output/explore.ipynb headless on fresh small runs, so it never rots:
# any failing cell (including its checks against `capsim compare`) fails this script.
# First the example the notebook describes (glut-2026, two network prices; the executed
# copy, with its charts, is kept as notebooks-output/explore.executed.ipynb), then once
# on every bundled scenario (two replications, A against a second identical run).
set -euo pipefail
cd "$(dirname "$0")/../.."
capsim=target/release/capsim
out=notebooks-output

execute() { # A B COMPARE OUTPUT-NAME
    CAPSIM_RUN_A="$(realpath "$1")" CAPSIM_RUN_B="$(realpath "$2")" CAPSIM_COMPARE="$(realpath "$3")" \
        python3 -m jupyter nbconvert --to notebook --execute "$out/explore.ipynb" --output "$4" \
        --ExecutePreprocessor.timeout=300 2>&1 | grep -v "WARNING\|without encryption" || true
    python3 - "$out/$4.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
errors = [o for o in outputs if o.get("output_type") == "error"]
images = sum("image/png" in o.get("data", {}) for o in outputs)
assert not errors, errors
assert images >= 2, f"{images} charts drawn, expected 2"
print(f"{sys.argv[1]}: {len(nb['cells'])} cells executed, {images} charts")
PY
}

"$capsim" run scenarios/glut-2026.yaml --replications 8 --out "$out/explore-a" --quiet
"$capsim" run scenarios/glut-2026.yaml --replications 8 --out "$out/explore-b" --quiet --set distributed.pricing.usd_per_gpu_hour=2.2
"$capsim" compare "$out/explore-a" "$out/explore-b" --out "$out/explore-compare" --quiet
execute "$out/explore-a" "$out/explore-b" "$out/explore-compare" explore.executed

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for scenario in scenarios/*.yaml; do
    name=$(basename "$scenario" .yaml)
    "$capsim" run "$scenario" --replications 2 --out "$work/$name-a" --quiet
    "$capsim" run "$scenario" --replications 2 --out "$work/$name-b" --quiet
    "$capsim" compare "$work/$name-a" "$work/$name-b" --out "$work/$name-compare" --quiet
    execute "$work/$name-a" "$work/$name-b" "$work/$name-compare" "explore.$name"
    rm -f "$out/explore.$name.ipynb"
done

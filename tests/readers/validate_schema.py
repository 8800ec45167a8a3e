"""Validates YAML files against capsim's JSON Schema with an independent validator.

Usage: validate_schema.py SCHEMA FILE...
Prints one JSON line per file: {"file": ..., "errors": [...]}; exits 0 unless the
schema itself is not valid JSON Schema (draft 2020-12).
"""
import json
import sys

import jsonschema
import yaml

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    # Through JSON, as an editor sees the YAML: map keys such as GPU counts become strings.
    document = json.loads(json.dumps(yaml.safe_load(open(path, encoding="utf-8"))))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    print(json.dumps({"file": path, "errors": errors}))

"""Prints a SAM template as the plain CloudFormation the SAM transform makes of it, for Checkov.

Checkov reads a SAM template as written: it checks AWS::Serverless::Function
itself, but not the IAM roles, event rules, permissions and event source
mappings the transform generates from it. dev/test.sh scans this output too, so
the generated roles' policies go through Checkov's IAM checks. The transform is
the pinned aws-sam-translator's, offline: dummy credentials, no AWS call, as in
dev/topology.py. CodeUri becomes an S3 location (what `sam package` does; the
translator accepts nothing else); the functions' Metadata, Checkov's skips
included, is carried over to the generated AWS::Lambda::Function.

    python dev/sam_transform.py template.yaml > target/checkov/template.json
"""

from __future__ import annotations

import json
import logging
import sys

from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from topology import local_session

logging.getLogger("samtranslator").setLevel(logging.ERROR)


def transform(path: str) -> dict:
    template, matches = decode(path)
    if matches:
        raise SystemExit(f"{path}: {matches[0].message}")
    template = json.loads(json.dumps(template))  # plain dicts, without cfn-lint's position marks
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://checkov-scan/function.zip"
    translator = Translator(None, Parser(), boto_session=local_session())
    try:
        # No template names a managed policy in Policies, so an empty map of them will do.
        return translator.translate(template, {}, get_managed_policy_map=dict)
    except Exception as exc:  # samtranslator's InvalidDocumentException lists every cause
        raise SystemExit(f"{path}: SAM transform failed: {getattr(exc, 'causes', exc)}") from exc


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python dev/sam_transform.py TEMPLATE > OUTPUT.json")
    json.dump(transform(sys.argv[1]), sys.stdout, indent=1)
    print()

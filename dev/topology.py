"""Deploy template.yaml into moto's CloudFormation, for `make run`.

Rather than re-implementing CloudFormation, this hands the template to moto:
cfn-lint decodes it, the SAM translator (both pinned) turns the
AWS::Serverless resources into plain CloudFormation, and moto creates the
stack, evaluating every Ref, Sub and If itself. The relay function's
environment is then read back from the function moto created, so the local
topics, queue, names and variables are the template's own and cannot drift.
Resource types moto cannot model (API Gateway v2, alarms) are skipped by moto
with a warning, which we silence; the relay does not use them.

Secrets are the exception: moto's CloudFormation cannot create an
AWS::SecretsManager::Secret either, but the relay reads its verification token
from one. So each secret of the template is created here, in moto's Secrets
Manager, as the template declares it (its Name, its SecretString, or a value
made as its GenerateSecretString says), and every Ref to it (and ${Secret} in a
Sub) is replaced by its ARN before moto creates the stack. Then the local demo
token is put into the verification token secret (PutSecretValue, as a rotation
would), so events/*.json and the README's curl examples authenticate.

Each topic the function publishes to also gets one subscriber queue (raw
delivery; FIFO for a FIFO topic), so a local run can show what a subscriber
receives.
"""

from __future__ import annotations

import io
import json
import logging
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.exceptions
import botocore.parsers
import botocore.session
from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
REGION = "us-east-1"
CODE_BUCKET, CODE_KEY = "local-code", "function.zip"

# moto logs and warns once per unsupported resource type, on every deploy; werkzeug logs every
# request; samtranslator warns that it did not publish its own usage metrics.
for noisy in ("moto", "werkzeug", "samtranslator"):
    logging.getLogger(noisy).setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation")


class TemplateError(Exception):
    """template.yaml cannot be decoded, transformed or deployed as make run needs."""


@dataclass
class Topic:
    env_var: str
    arn: str
    subscriber_queue_url: str

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[1]


@dataclass
class Topology:
    env: dict[str, str]  # the function's Environment.Variables, as deployed
    topics: list[Topic]
    dead_letter_queue_url: str
    verification_token_secret_arn: str


# The relay's variable that names its token secret (src/config.rs).
TOKEN_SECRET_VAR = "VERIFICATION_TOKEN_SECRET_ARN"


def local_session() -> boto3.session.Session:
    """Dummy credentials, and nothing from the developer's AWS_PROFILE or ~/.aws: only moto is talked to."""
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    return boto3.session.Session("test", "test", region_name=REGION, botocore_session=core)


def sam_to_cloudformation(binary: str) -> tuple[dict, str]:
    """template.yaml as plain CloudFormation, and the logical id of the function that runs `binary`."""
    template, matches = decode(str(TEMPLATE))
    if matches:
        raise TemplateError(f"{TEMPLATE}: {matches[0].message}")
    template = json.loads(json.dumps(template))  # plain dicts, without cfn-lint's position marks
    relay = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary") == binary
    ]
    if len(relay) != 1:
        raise TemplateError(f"expected one function with Metadata.BuildProperties.Binary {binary}, found {relay}")
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # What `sam package` does; SAM accepts only an S3 CodeUri, and moto reads the code from there.
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
    translator = Translator(None, Parser(), boto_session=local_session())
    try:
        # The inline policies name no managed policy, so an empty map of them will do.
        return translator.translate(template, {}, get_managed_policy_map=dict), relay[0]
    except Exception as exc:  # samtranslator's InvalidDocumentException lists every cause
        raise TemplateError(f"SAM transform failed: {getattr(exc, 'causes', exc)}") from exc


def _substitute(node, arns: dict[str, str]):
    """`node` with every {"Ref": secret} replaced by the secret's ARN, and ${secret} in Fn::Sub strings too."""
    if isinstance(node, list):
        return [_substitute(item, arns) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in arns:
        return arns[node["Ref"]]
    if set(node) == {"Fn::Sub"}:
        sub = node["Fn::Sub"]
        text, variables = (sub, None) if isinstance(sub, str) else (sub[0], sub[1])
        for logical_id, arn in arns.items():
            text = text.replace("${" + logical_id + "}", arn)
        return {"Fn::Sub": text if variables is None else [text, _substitute(variables, arns)]}
    return {key: _substitute(value, arns) for key, value in node.items()}


def create_secrets(template: dict, stack_name: str, secretsmanager) -> dict:
    """Creates the template's secrets in moto (see the module's docstring); returns the template without
    them, every reference to one replaced by its ARN."""
    arns = {}
    for logical_id, resource in list(template["Resources"].items()):
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        properties = resource.get("Properties", {})
        name = properties.get("Name", f"{stack_name}-{logical_id}")
        if isinstance(name, dict) and set(name) == {"Fn::Sub"} and isinstance(name["Fn::Sub"], str):
            name = name["Fn::Sub"].replace("${AWS::StackName}", stack_name)
        if not isinstance(name, str) or "${" in name:
            raise TemplateError(f"{logical_id}: make run cannot resolve the secret's Name {name!r}")
        if "SecretString" in properties:
            value = properties["SecretString"]
        elif "GenerateSecretString" in properties:
            generate = properties["GenerateSecretString"]
            options = {k: v for k, v in generate.items() if k not in ("SecretStringTemplate", "GenerateStringKey")}
            generated = secretsmanager.get_random_password(**options)["RandomPassword"]
            if "SecretStringTemplate" in generate:
                value = json.loads(generate["SecretStringTemplate"])
                value[generate["GenerateStringKey"]] = generated
                value = json.dumps(value)
            else:
                value = generated
        else:
            value = None
        if not isinstance(value, (str, type(None))):
            raise TemplateError(f"{logical_id}: make run cannot resolve the secret's value")
        created = secretsmanager.create_secret(
            Name=name, **({"SecretString": value} if value is not None else {}),
            **({"Description": properties["Description"]} if isinstance(properties.get("Description"), str) else {}),
        )
        arns[logical_id] = created["ARN"]
        del template["Resources"][logical_id]
    return _substitute(template, arns)


def deploy(endpoint: str, topic_type: str, token: str, stack_name: str, binary: str) -> Topology:
    template, relay_id = sam_to_cloudformation(binary)
    session = local_session()
    s3, cfn, lam, sns, sqs, secretsmanager = (
        session.client(service, endpoint_url=endpoint)
        for service in ("s3", "cloudformation", "lambda", "sns", "sqs", "secretsmanager")
    )
    template = create_secrets(template, stack_name, secretsmanager)

    # moto's Lambda insists on reading the code package; the real code runs under cargo lambda watch.
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("bootstrap", "")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=package.getvalue())

    parameters = {"TopicType": topic_type}
    try:  # moto creates the whole stack within this call
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
    # A resource moto fails on comes back as an HTML 500 page, which botocore cannot parse.
    except (botocore.exceptions.ClientError, botocore.parsers.ResponseParserError) as exc:
        raise TemplateError(
            f"moto's CloudFormation could not create the stack ({exc}). It skips resource types it does not "
            "model, and fails when a resource it does model refers to one of them."
        ) from exc
    # (describe_stack_resource fails in moto 5.2.5 once the stack holds a type moto skipped)
    resources = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    name = next(r["PhysicalResourceId"] for r in resources if r.get("LogicalResourceId") == relay_id)
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    if TOKEN_SECRET_VAR not in env:
        raise TemplateError(f"the relay's environment in template.yaml has no {TOKEN_SECRET_VAR}")
    # The local demo token in place of the generated one, in the shape the relay reads.
    secretsmanager.put_secret_value(
        SecretId=env[TOKEN_SECRET_VAR], SecretString=json.dumps({"current": token, "previous": ""})
    )

    topics = []
    for var, arn in env.items():
        if not arn.startswith("arn:aws:sns:"):
            continue
        queue_name = arn.rsplit(":", 1)[1].removesuffix(".fifo") + "-subscriber"
        fifo = arn.endswith(".fifo")  # a FIFO topic delivers only to FIFO queues
        url = sqs.create_queue(
            QueueName=queue_name + (".fifo" if fifo else ""), Attributes={"FifoQueue": "true"} if fifo else {}
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        topics.append(Topic(var, arn, url))
    return Topology(env, topics, env["DEAD_LETTER_QUEUE_URL"], env[TOKEN_SECRET_VAR])

#!/usr/bin/env python3
"""Create the relay's AWS topology on a local endpoint (moto), as template.yaml declares it.

The function's environment in template.yaml says which SNS topics
(CREATED/UPDATED/DELETED_TOPIC_ARN) and which SQS queue (DEAD_LETTER_QUEUE_URL)
it talks to. This module finds those resources, evaluates the properties that
shape them (name, FIFO, deduplication, retention...) for the chosen TopicType,
creates them with boto3 against the given endpoint, and adds one subscriber
SQS queue per topic (RawMessageDelivery, FIFO for FIFO topics) so a local run
can show what a subscriber receives.

As a CLI it prints the environment the function needs, as JSON:

    python dev/topology.py --endpoint http://127.0.0.1:5000 --topic-type Standard

As a module: ``build(endpoint, topic_type) -> Topology`` (see ``Topology.env``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "template.yaml"
DEFAULT_STACK_NAME = "cc-number-relay"
DEFAULT_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account

TOPIC_ENV_VARS = ("CREATED_TOPIC_ARN", "UPDATED_TOPIC_ARN", "DELETED_TOPIC_ARN")
QUEUE_ENV_VAR = "DEAD_LETTER_QUEUE_URL"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

# Template properties that are passed on to CreateTopic / CreateQueue when present.
TOPIC_ATTRIBUTES = ("FifoTopic", "ContentBasedDeduplication")
QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
)


class TemplateError(Exception):
    """template.yaml no longer has what the local topology expects."""


# --------------------------------------------------------------------------- YAML


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (!Ref, !GetAtt, !Sub, !If...) into
    their long form ({"Ref": ...}, {"Fn::GetAtt": [...]}, ...), and keeps dates as strings."""


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + tag_suffix: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)
# Keep '2010-09-09' and similar as plain strings, as CloudFormation does.
_CfnLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(path: Path = DEFAULT_TEMPLATE) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc}") from exc
    try:
        template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{path} has no Resources section")
    return template


# ------------------------------------------------------------- intrinsic evaluation

_NO_VALUE = object()


@dataclass(frozen=True)
class ResourceRef:
    """What a Ref/GetAtt to a resource evaluates to: the resource and the attribute."""

    logical_id: str
    attribute: str  # "Ref" for a plain Ref


class _Evaluator:
    def __init__(self, template: dict, parameters: dict[str, str], stack_name: str, region: str):
        self.template = template
        self.resources: dict = template["Resources"]
        self.conditions: dict = template.get("Conditions") or {}
        self.pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        self.parameters = parameters
        self._condition_cache: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._condition_cache:
            if name not in self.conditions:
                raise TemplateError(f"condition {name!r} is used but not defined in Conditions")
            self._condition_cache[name] = bool(self.eval(self.conditions[name], f"Conditions.{name}"))
        return self._condition_cache[name]

    def eval(self, node: Any, where: str) -> Any:  # noqa: C901 - one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.eval(item, where) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                if arg in self.pseudo:
                    return self.pseudo[arg]
                if arg in self.parameters:
                    return self.parameters[arg]
                if arg in self.resources:
                    return ResourceRef(arg, "Ref")
                raise TemplateError(f"{where}: Ref to unknown name {arg!r}")
            if key == "Fn::GetAtt":
                if not (isinstance(arg, list) and len(arg) == 2 and arg[0] in self.resources):
                    raise TemplateError(f"{where}: GetAtt {arg!r} does not name a resource attribute")
                return ResourceRef(arg[0], arg[1])
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                a, b = (self.eval(v, where) for v in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.eval(arg[0], where)
            if key == "Fn::And":
                return all(self.eval(v, where) for v in arg)
            if key == "Fn::Or":
                return any(self.eval(v, where) for v in arg)
            if key == "Fn::If":
                name, if_true, if_false = arg
                return self.eval(if_true if self.condition(name) else if_false, where)
            if key == "Fn::Sub":
                return self._sub(arg, where)
            if key == "Fn::Join":
                sep, items = arg
                return str(sep).join(str(self._scalar(v, where)) for v in self.eval(items, where))
            if key.startswith("Fn::"):
                raise TemplateError(f"{where}: {key} is not supported by dev/topology.py")
        out = {}
        for key, value in node.items():
            value = self.eval(value, f"{where}.{key}")
            if value is not _NO_VALUE:
                out[key] = value
        return out

    def _scalar(self, value: Any, where: str) -> Any:
        if isinstance(value, ResourceRef):
            raise TemplateError(f"{where}: refers to resource {value.logical_id}, which has no local value")
        return value

    def _sub(self, arg: Any, where: str) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.eval(v, where) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self._scalar(variables[name], where))
            return str(self._scalar(self.eval({"Ref": name}, where), where))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


# ----------------------------------------------------------------------- topology


@dataclass
class TopicInfo:
    env_var: str
    logical_id: str
    name: str
    arn: str
    fifo: bool
    subscriber_queue_name: str
    subscriber_queue_url: str
    subscription_arn: str


@dataclass
class QueueInfo:
    env_var: str
    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool


@dataclass
class Topology:
    endpoint: str
    region: str
    topic_type: str
    topics: list[TopicInfo] = field(default_factory=list)
    dead_letter_queue: QueueInfo | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment variables the function needs to reach this topology."""
        env = {t.env_var: t.arn for t in self.topics}
        if self.dead_letter_queue:
            env[self.dead_letter_queue.env_var] = self.dead_letter_queue.url
        return env

    def to_dict(self) -> dict:
        data = asdict(self)
        data["env"] = self.env
        return data


def _function_environment(template: dict) -> tuple[str, dict]:
    """The (logical id, Environment.Variables) of the one function that has the relay's vars."""
    globals_vars = (
        ((template.get("Globals") or {}).get("Function") or {}).get("Environment", {}).get("Variables") or {}
    )
    wanted = set(TOPIC_ENV_VARS) | {QUEUE_ENV_VAR}
    found = []
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") not in FUNCTION_TYPES:
            continue
        props = resource.get("Properties") or {}
        variables = dict(globals_vars) if resource["Type"] == FUNCTION_TYPES[0] else {}
        variables.update(((props.get("Environment") or {}).get("Variables")) or {})
        if wanted & variables.keys():
            found.append((logical_id, variables))
    if not found:
        raise TemplateError(
            "no function in template.yaml has the environment variables " + ", ".join(sorted(wanted))
        )
    if len(found) > 1:
        raise TemplateError(
            "more than one function has the relay's environment variables: "
            + ", ".join(logical_id for logical_id, _ in found)
        )
    logical_id, variables = found[0]
    missing = sorted(wanted - variables.keys())
    if missing:
        raise TemplateError(f"function {logical_id} lacks environment variable(s) {', '.join(missing)}")
    return logical_id, variables


def _referenced_resource(ev: _Evaluator, function_id: str, var: str, value: Any, rtype: str, attrs: set) -> str:
    where = f"{function_id}.Environment.Variables.{var}"
    ref = ev.eval(value, where)
    if not isinstance(ref, ResourceRef):
        raise TemplateError(f"{where} should be a Ref/GetAtt to a resource of type {rtype}, found {ref!r}")
    actual = ev.resources[ref.logical_id].get("Type")
    if actual != rtype:
        raise TemplateError(f"{where} refers to {ref.logical_id} of type {actual}; expected {rtype}")
    if ref.attribute not in attrs:
        raise TemplateError(
            f"{where} uses {ref.logical_id}.{ref.attribute}; expected one of "
            + ", ".join("Ref" if a == "Ref" else f"GetAtt {ref.logical_id}.{a}" for a in sorted(attrs))
        )
    resource = ev.resources[ref.logical_id]
    if "Condition" in resource and not ev.condition(resource["Condition"]):
        raise TemplateError(
            f"{ref.logical_id} (used by {var}) is not created under these parameters "
            f"(its Condition {resource['Condition']} is false)"
        )
    return ref.logical_id


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _properties(ev: _Evaluator, logical_id: str, keys: tuple[str, ...]) -> dict[str, str]:
    props = ev.resources[logical_id].get("Properties") or {}
    out = {}
    for key in keys:
        if key in props:
            value = ev.eval(props[key], f"{logical_id}.Properties.{key}")
            if value is not _NO_VALUE:
                out[key] = _attribute_value(ev._scalar(value, f"{logical_id}.Properties.{key}"))
    return out


def _name(ev: _Evaluator, logical_id: str, name_key: str, fifo: bool) -> str:
    props = ev.resources[logical_id].get("Properties") or {}
    name = ev.eval(props[name_key], f"{logical_id}.Properties.{name_key}") if name_key in props else _NO_VALUE
    if name is _NO_VALUE:  # CloudFormation would generate one; a readable local stand-in
        name = f"{ev.pseudo['AWS::StackName']}-{logical_id}" + (".fifo" if fifo else "")
    name = str(ev._scalar(name, f"{logical_id}.Properties.{name_key}"))
    if fifo != name.endswith(".fifo"):
        raise TemplateError(f"{logical_id}: name {name!r} and FIFO={fifo} disagree (FIFO names end in .fifo)")
    return name


def _queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _subscriber_queue_name(topic_name: str) -> str:
    if topic_name.endswith(".fifo"):
        return topic_name[: -len(".fifo")] + "-subscriber.fifo"
    return topic_name + "-subscriber"


def local_session(region: str = DEFAULT_REGION) -> boto3.session.Session:
    """A boto3 session with dummy credentials that ignores the developer's own AWS setup
    (AWS_PROFILE, ~/.aws/config and credentials), for talking to moto only."""
    # (config name, env var, default, conversion): no AWS_PROFILE/AWS_DEFAULT_PROFILE lookup.
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    return boto3.session.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",
        aws_session_token=None,
        region_name=region,
        botocore_session=core,
    )


def build(
    endpoint: str,
    topic_type: str = "Standard",
    *,
    template_path: Path = DEFAULT_TEMPLATE,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    session: boto3.session.Session | None = None,
) -> Topology:
    """Create the topics, the dead-letter queue and the subscriber queues; return what was made."""
    template = load_template(template_path)
    params_decl = template.get("Parameters") or {}
    if "TopicType" not in params_decl:
        raise TemplateError("template.yaml has no TopicType parameter")
    allowed = params_decl["TopicType"].get("AllowedValues")
    if allowed and topic_type not in allowed:
        raise TemplateError(f"TopicType {topic_type!r} is not one of the template's AllowedValues {allowed}")
    parameters = {
        name: str(decl["Default"]) for name, decl in params_decl.items() if isinstance(decl, dict) and "Default" in decl
    }
    parameters["TopicType"] = topic_type
    ev = _Evaluator(template, parameters, stack_name, region)
    expect_fifo = topic_type == "Fifo"

    function_id, variables = _function_environment(template)

    # Work out everything from the template first, so a mismatch fails before any AWS call.
    topic_plans = []
    for var in TOPIC_ENV_VARS:
        logical_id = _referenced_resource(
            ev, function_id, var, variables[var], "AWS::SNS::Topic", {"Ref", "TopicArn"}
        )
        attributes = _properties(ev, logical_id, TOPIC_ATTRIBUTES)
        fifo = attributes.get("FifoTopic") == "true"
        if fifo != expect_fifo:
            raise TemplateError(
                f"{logical_id}: TopicType={topic_type} should make it a "
                f"{'FIFO' if expect_fifo else 'standard'} topic, but its FifoTopic evaluates to {fifo}"
            )
        topic_plans.append((var, logical_id, _name(ev, logical_id, "TopicName", fifo), attributes, fifo))

    dlq_id = _referenced_resource(
        ev, function_id, QUEUE_ENV_VAR, variables[QUEUE_ENV_VAR], "AWS::SQS::Queue", {"Ref", "QueueUrl"}
    )
    dlq_attributes = _properties(ev, dlq_id, QUEUE_ATTRIBUTES)
    dlq_fifo = dlq_attributes.get("FifoQueue") == "true"
    dlq_name = _name(ev, dlq_id, "QueueName", dlq_fifo)

    session = session or local_session(region)
    sns = session.client("sns", endpoint_url=endpoint, region_name=region)
    sqs = session.client("sqs", endpoint_url=endpoint, region_name=region)
    topology = Topology(endpoint=endpoint, region=region, topic_type=topic_type)

    for var, logical_id, name, attributes, fifo in topic_plans:
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        queue_name = _subscriber_queue_name(name)
        queue_url = sqs.create_queue(QueueName=queue_name, Attributes={"FifoQueue": "true"} if fifo else {})[
            "QueueUrl"
        ]
        queue_arn = _queue_arn(sqs, queue_url)
        # What a real subscriber queue needs; moto does not enforce it.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
        subscription_arn = sns.subscribe(
            TopicArn=arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        topology.topics.append(
            TopicInfo(var, logical_id, name, arn, fifo, queue_name, queue_url, subscription_arn)
        )

    url = sqs.create_queue(QueueName=dlq_name, Attributes=dlq_attributes)["QueueUrl"]
    topology.dead_letter_queue = QueueInfo(
        QUEUE_ENV_VAR, dlq_id, dlq_name, url, _queue_arn(sqs, url), dlq_fifo
    )
    return topology


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="AWS endpoint, e.g. http://127.0.0.1:5000 (moto_server)")
    parser.add_argument("--topic-type", default="Standard", help="the template's TopicType: Standard or Fifo")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="default: %(default)s")
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help="used for ${AWS::StackName} in names")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--all", action="store_true", help="print everything created, not just the env vars")
    args = parser.parse_args(argv)
    try:
        topology = build(
            args.endpoint,
            args.topic_type,
            template_path=args.template,
            stack_name=args.stack_name,
            region=args.region,
        )
    except TemplateError as exc:
        print(f"topology: template.yaml does not match what dev/topology.py expects: {exc}", file=sys.stderr)
        return 2
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        print(f"topology: could not create the topology at {args.endpoint}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(topology.to_dict() if args.all else topology.env, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

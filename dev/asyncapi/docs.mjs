// Renders an AsyncAPI document as one Markdown page, from what the official
// parser resolved (the payload's $ref included), with no template engine.
//
//   node dev/asyncapi/docs.mjs [schema/asyncapi.yaml] [target/asyncapi/asyncapi.md]
//
// `make docs` runs it; the page is generated, never committed. Refuses a
// document the parser reports an error for.
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.resolve(root, process.argv[2] ?? 'schema/asyncapi.yaml');
const out = path.resolve(root, process.argv[3] ?? 'target/asyncapi/asyncapi.md');

const { document, diagnostics } = await fromFile(new Parser(), file).parse();
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (document === undefined || errors.length > 0) {
  for (const d of errors) console.error(`error ${d.code} at ${d.path.join('.')}: ${d.message}`);
  console.error(`docs: ${path.relative(root, file)} does not parse; run dev/asyncapi/validate.mjs`);
  process.exit(1);
}
const doc = document.json();

const cell = (text) => String(text ?? '').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (value) => `\`${value}\``;
const typeOf = (schema) => {
  const parts = [];
  if (schema.const !== undefined) parts.push(`const ${code(JSON.stringify(schema.const))}`);
  if (schema.type) parts.push([].concat(schema.type).join(' or '));
  if (schema.enum) parts.push(`one of ${schema.enum.map((v) => code(JSON.stringify(v))).join(', ')}`);
  if (schema.pattern) parts.push(`pattern ${code(schema.pattern)}`);
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    parts.push(`length ${schema.minLength ?? 0}–${schema.maxLength ?? '∞'}`);
  }
  if (schema.oneOf) parts.push(schema.oneOf.map((s) => [].concat(s.type ?? 'any').join('/')).join(' or '));
  return parts.join('; ');
};

/** One row per property, nested objects flattened to dotted names. */
function rows(schema, prefix = '') {
  const required = new Set(schema.required ?? []);
  const lines = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const full = `${prefix}${name}`;
    lines.push(`| ${code(full)} | ${required.has(name) ? 'yes' : 'no'} | ${cell(typeOf(property))} | ${cell(property.description)} |`);
    const nested = property.properties ? property : (property.oneOf ?? []).find((s) => s.properties);
    if (nested) lines.push(...rows(nested, `${full}.`));
  }
  return lines;
}

const table = (schema) => ['| field | required | type | description |', '|---|---|---|---|', ...rows(schema)].join('\n');
const json = (value) => ['```json', JSON.stringify(value, null, 2), '```'].join('\n');

const page = [];
page.push(`# ${doc.info.title} (${doc.info.version})`, '');
page.push(`AsyncAPI ${doc.asyncapi}, generated from \`${path.relative(root, file)}\` by \`make docs\`.`, '');
page.push(doc.info.description.trim(), '');

page.push('## Servers', '');
for (const [id, server] of Object.entries(doc.servers ?? {})) {
  page.push(`- **${id}**: ${code(server.host)} (${server.protocol}). ${server.description ?? ''}`);
}
page.push('');

page.push('## Channels', '');
for (const [id, channel] of Object.entries(doc.channels)) {
  page.push(`### ${channel.title ?? id}: ${code(channel.address)}`, '', cell(channel.description), '');
  for (const [name, parameter] of Object.entries(channel.parameters ?? {})) {
    const values = parameter.enum ? ` One of ${parameter.enum.map((v) => code(JSON.stringify(v))).join(', ')}.` : '';
    page.push(`- parameter ${code(name)}: ${cell(parameter.description)}${values}`);
  }
  const sns = channel.bindings?.sns;
  if (sns) {
    page.push(`- SNS topic ${code(sns.name)}, ordering ${code(sns.ordering?.type ?? 'standard')} (binding ${sns.bindingVersion})`);
    const fifo = sns['x-fifo'];
    if (fifo) {
      page.push(
        `- with TopicType=Fifo: ${code(fifo.name)}, ordering ${code(fifo.ordering.type)}, ` +
          `MessageGroupId ${code(fifo.messageGroupId)}, MessageDeduplicationId ${code(fifo.messageDeduplicationId)}`,
      );
    }
  }
  const sends = Object.entries(doc.operations ?? {}).filter(([, o]) => o.channel === channel);
  for (const [name, operation] of sends) page.push(`- operation ${code(name)}: ${operation.action}. ${operation.summary ?? ''}`);
  page.push('');
}

for (const [id, message] of Object.entries(doc.components?.messages ?? {})) {
  page.push(`## Message ${id}`, '', `${message.title ?? ''}. ${message.summary ?? ''} Content type ${code(message.contentType)}.`, '');
  page.push('### Headers (SNS message attributes)', '', cell(message.headers.description), '', table(message.headers), '');
  const payload = message.payload.schema ?? message.payload;
  page.push(
    '### Payload (the SNS message body)',
    '',
    `${cell(payload.title)}. ${cell(payload.description)} Schema format ${code(message.payload.schemaFormat ?? 'AsyncAPI')}.`,
    '',
    table(payload),
    '',
  );
  for (const example of message.examples ?? []) {
    page.push(`### Example: ${example.name}`, '', cell(example.summary), '', 'Headers:', '', json(example.headers), '', 'Payload:', '', json(example.payload), '');
  }
}

mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, page.join('\n'));
console.log(`docs: wrote ${path.relative(root, out)}`);

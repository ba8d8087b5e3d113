// Validates an AsyncAPI document with the official parser (@asyncapi/parser,
// pinned in package-lock.json) and prints every diagnostic it reports.
//
//   node dev/asyncapi/validate.mjs [schema/asyncapi.yaml]
//
// Exits 1 on any error, and on any warning that is not explained below;
// info and hint diagnostics are printed and do not fail. Relative $refs
// (the payload's JSON Schema) are resolved from the document's own folder.
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const file = path.resolve(root, process.argv[2] ?? 'schema/asyncapi.yaml');
const parserVersion = createRequire(import.meta.url)('@asyncapi/parser/package.json').version;

// Warnings this document accepts, by rule code, each with the reason
// (printed beside it). None today: any warning fails the run.
const EXPLAINED = {};

const severities = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const parser = new Parser();
const { document, diagnostics } = await fromFile(parser, file).parse();

const where = (d) => {
  const at = d.path?.length ? d.path.join('.') : '(document)';
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  return `${at}${line}`;
};

let failures = 0;
for (const d of diagnostics) {
  const severity = severities[d.severity] ?? `severity ${d.severity}`;
  let note = '';
  if (d.severity === DiagnosticSeverity.Error) {
    failures += 1;
  } else if (d.severity === DiagnosticSeverity.Warning) {
    if (EXPLAINED[d.code]) {
      note = ` (accepted: ${EXPLAINED[d.code]})`;
    } else {
      failures += 1;
      note = ' (not explained in dev/asyncapi/validate.mjs: fails)';
    }
  }
  console.log(`${severity} ${d.code} at ${where(d)}: ${d.message}${note}`);
}

const shown = path.relative(root, file);
const count = `${diagnostics.length} diagnostic${diagnostics.length === 1 ? '' : 's'}`;
if (document === undefined || failures > 0) {
  console.log(`asyncapi: ${shown} is NOT valid (@asyncapi/parser ${parserVersion}): ${failures} failing of ${count}`);
  process.exit(1);
}
console.log(
  `asyncapi: ${shown} valid (@asyncapi/parser ${parserVersion}, AsyncAPI ${document.version()}), ${count}`,
);

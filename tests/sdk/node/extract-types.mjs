// Extracts, from the TypeScript types of the pinned stripe-node package, which fields of each
// object the simulator renders are always present, which may be null and which may be absent,
// and writes them to simulator/tests/fixtures/stripe_node_types.json. The Rust test
// simulator/tests/field_presence.rs checks every object the simulator renders against that file,
// so `cargo test` needs no Node; this script (run by tests/sdk/run.sh with --check) proves the
// file is still what the pinned package says.
//
//   node extract-types.mjs           # (re)write the extract
//   node extract-types.mjs --check   # exit 1 if the extract is not current
//
// The types say it in three ways (stripe-node's generated .d.ts files):
//   `field: T`          always present, never null
//   `field: T | null`   always present, may be null
//   `field?: T`         may be absent, never null when present
//
// Types are read with the TypeScript compiler's own checker (so aliases, imports and generics are
// resolved as tsc resolves them), not with regular expressions.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const stripeDir = path.join(here, 'node_modules', 'stripe');
const esm = path.join(stripeDir, 'esm');
const out = path.resolve(here, '..', '..', '..', 'simulator', 'tests', 'fixtures', 'stripe_node_types.json');

// Every object the simulator renders, by its `object` value: the module and exported type.
const ROOTS = {
  'checkout.session': ['resources/Checkout/Sessions.d.ts', 'Session'],
  payment_link: ['resources/PaymentLinks.d.ts', 'PaymentLink'],
  product: ['resources/Products.d.ts', 'Product'],
  price: ['resources/Prices.d.ts', 'Price'],
  customer: ['resources/Customers.d.ts', 'Customer'],
  payment_intent: ['resources/PaymentIntents.d.ts', 'PaymentIntent'],
  payment_method: ['resources/PaymentMethods.d.ts', 'PaymentMethod'],
  charge: ['resources/Charges.d.ts', 'Charge'],
  refund: ['resources/Refunds.d.ts', 'Refund'],
  item: ['resources/LineItems.d.ts', 'LineItem'],
  event: ['resources/Events.d.ts', 'EventBase'],
  webhook_endpoint: ['resources/WebhookEndpoints.d.ts', 'WebhookEndpoint'],
  'deleted:webhook_endpoint': ['resources/WebhookEndpoints.d.ts', 'DeletedWebhookEndpoint'],
  list: ['lib.d.ts', 'ApiList'],
};
// The `error` hash of Stripe's error envelope: the same schema as `last_payment_error`.
const ERROR = ['resources/PaymentIntents.d.ts', 'PaymentIntent'];

const files = [...new Set([...Object.values(ROOTS), ERROR].map(([f]) => path.join(esm, f)))];
const program = ts.createProgram(files, {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
});
const checker = program.getTypeChecker();

function moduleExport(file, name) {
  const source = program.getSourceFile(path.join(esm, file));
  if (!source) throw new Error(`no source file ${file}`);
  const symbol = checker.getExportsOfModule(checker.getSymbolAtLocation(source)).find((s) => s.name === name);
  if (!symbol) throw new Error(`${file} exports no ${name}`);
  return symbol;
}

function namespaceMember(symbol, name) {
  const member = symbol.exports?.get(name);
  if (!member) throw new Error(`${symbol.name} has no ${name}`);
  return member;
}

/** `Charges:Charge.BillingDetails`: the module (relative to esm/) and the name inside it. */
function qualifiedName(symbol) {
  const declaration = symbol.declarations?.[0];
  if (!declaration) return symbol.name;
  const parts = [symbol.name];
  for (let node = declaration.parent; node; node = node.parent) {
    if (ts.isModuleDeclaration(node)) parts.unshift(node.name.text);
  }
  const file = path.relative(esm, declaration.getSourceFile().fileName).replace(/\.d\.ts$/, '');
  return `${file}:${parts.join('.')}`;
}

const rootNames = new Set();
const types = {};
const queue = [];

/** The `object` literal of a type that has one (a Stripe resource), or undefined. */
function objectLiteral(type) {
  const prop = checker.getPropertyOfType(type, 'object');
  if (!prop) return undefined;
  const t = checker.getTypeOfSymbol(prop);
  return t.flags & ts.TypeFlags.StringLiteral ? t.value : undefined;
}

function describeObject(type, isRoot = false) {
  if (checker.isArrayType(type)) {
    return { array: describe(checker.getTypeArguments(type)[0]).type };
  }
  if (checker.isTupleType(type)) return 'any';
  const symbol = type.aliasSymbol ?? type.symbol;
  const name = symbol?.name;
  if (!isRoot && name === 'ApiList' && type.symbol?.name === 'ApiList') {
    const args = checker.getTypeArguments(type);
    return { list: args.length ? describe(args[0]).type : 'any' };
  }
  if (name === 'Decimal') return 'string';
  if (name === 'Partial' || (type.objectFlags & ts.ObjectFlags.Mapped)) return 'any';
  const props = checker.getPropertiesOfType(type);
  const indexes = checker.getIndexInfosOfType(type);
  if (props.length === 0 && indexes.length > 0) return { map: describe(indexes[0].type).type };
  if (!type.symbol || type.symbol.name === '__type' || type.symbol.name === '__object') {
    return { inline: fieldsOf(type) };
  }
  const qualified = qualifiedName(type.symbol);
  const literal = objectLiteral(type);
  // Another Stripe resource, reachable only through an expandable field we never expand: its id
  // is a string, and an expanded object there would be an error.
  if (literal !== undefined && !rootNames.has(qualified)) return { resource: qualified, object: literal };
  if (!(qualified in types)) {
    types[qualified] = null;
    queue.push([qualified, type]);
  }
  return { ref: qualified };
}

/** The JSON shape of a TypeScript type: what it may hold, and whether it may be null. */
function describe(type) {
  const members = type.isUnion() ? type.types : [type];
  let nullable = false;
  let open = false;
  let boolean = false;
  const literals = [];
  const shapes = [];
  const add = (shape) => {
    const key = JSON.stringify(shape);
    if (!shapes.some((s) => JSON.stringify(s) === key)) shapes.push(shape);
  };
  for (const m of members) {
    const f = m.flags;
    if (f & ts.TypeFlags.Null) nullable = true;
    else if (f & ts.TypeFlags.Undefined) continue;
    else if (f & ts.TypeFlags.StringLiteral) literals.push(m.value);
    else if (f & (ts.TypeFlags.BooleanLiteral | ts.TypeFlags.Boolean)) boolean = true;
    else if (f & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral | ts.TypeFlags.BigInt)) add('number');
    else if (f & ts.TypeFlags.String) add('string');
    else if (f & ts.TypeFlags.Intersection) {
      // OtherString = string & Record<never, never>: an open enum.
      if (m.types.some((x) => x.flags & ts.TypeFlags.String)) open = true;
      else add('any');
    } else if (f & ts.TypeFlags.Object) add(describeObject(m));
    else add('any');
  }
  if (literals.length > 0) add(open ? { enum: literals.sort(), open: true } : { enum: literals.sort() });
  else if (open) add('string');
  if (boolean) add('boolean');
  const described = shapes.length === 1 ? shapes[0] : { union: shapes };
  return { type: described, nullable };
}

function fieldsOf(type) {
  const fields = {};
  for (const prop of checker.getPropertiesOfType(type)) {
    const declaration = prop.valueDeclaration ?? prop.declarations?.[0];
    // Methods of classes (Decimal) and the like are not JSON fields.
    if (declaration && ts.isMethodSignature(declaration)) continue;
    const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
    const { type: shape, nullable } = describe(checker.getTypeOfSymbol(prop));
    const field = { t: shape };
    if (optional) field.opt = true;
    if (nullable) field.null = true;
    fields[prop.name] = field;
  }
  return sortKeys(fields);
}

function sortKeys(object) {
  return Object.fromEntries(Object.keys(object).sort().map((k) => [k, object[k]]));
}

// The roots first, so that expandable fields pointing at them become refs, not stubs.
const roots = {};
for (const [object, [file, name]] of Object.entries(ROOTS)) {
  const symbol = moduleExport(file, name);
  roots[object] = qualifiedName(symbol);
  rootNames.add(roots[object]);
}
for (const [object, [file, name]] of Object.entries(ROOTS)) {
  const symbol = moduleExport(file, name);
  describeObject(checker.getDeclaredTypeOfSymbol(symbol), true);
  void object;
}
const errorSymbol = namespaceMember(moduleExport(...ERROR), 'LastPaymentError');
roots.error = qualifiedName(errorSymbol);
describeObject(checker.getDeclaredTypeOfSymbol(errorSymbol));

while (queue.length > 0) {
  const [name, type] = queue.shift();
  types[name] = fieldsOf(type);
}

// Every published API version, as Stripe's spec lists them for webhook endpoints.
const versionsType = checker.getDeclaredTypeOfSymbol(
  namespaceMember(moduleExport('resources/WebhookEndpoints.d.ts', 'WebhookEndpointCreateParams'), 'ApiVersion'),
);
const apiVersions = versionsType.types.map((t) => t.value).sort();

const apiVersionSource = fs.readFileSync(path.join(esm, 'apiVersion.js'), 'utf8');
const pinned = /ApiVersion = '([^']+)'/.exec(apiVersionSource)?.[1];
const stripeNode = JSON.parse(fs.readFileSync(path.join(stripeDir, 'package.json'), 'utf8')).version;

const extract = {
  comment:
    'Generated by tests/sdk/node/extract-types.mjs from the stripe npm package; do not edit. t: shape, opt: may be absent, null: may be null.',
  stripe_node: stripeNode,
  api_version: pinned,
  api_versions: apiVersions,
  roots: sortKeys(roots),
  types: sortKeys(types),
};
// One type per line: small diffs when the package changes, and a file a person can grep.
const lines = Object.entries(extract.types).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
const text =
  '{\n' +
  ['comment', 'stripe_node', 'api_version', 'api_versions', 'roots']
    .map((k) => `  ${JSON.stringify(k)}: ${JSON.stringify(extract[k])},\n`)
    .join('') +
  '  "types": {\n' +
  lines.join(',\n') +
  '\n  }\n}\n';

if (process.argv.includes('--check')) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${path.relative(process.cwd(), out)} is not what stripe ${stripeNode} says: run node tests/sdk/node/extract-types.mjs`);
    process.exit(1);
  }
  console.log(`${path.basename(out)} is current (stripe ${stripeNode}, ${Object.keys(types).length} types)`);
} else {
  fs.writeFileSync(out, text);
  console.log(`wrote ${out}: ${Object.keys(types).length} types, ${text.length} bytes`);
}

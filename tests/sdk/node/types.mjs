// Strict typed decoding for stripe-node: stripe-node trusts whatever JSON it receives (its types
// exist only at compile time), so this suite checks every answer and every webhook event at run
// time against the package's own TypeScript types, as extracted by extract-types.mjs into
// simulator/tests/fixtures/stripe_node_types.json: a missing always-present field, a null where
// the types allow none, a field they do not know, an enum value they do not list. The same rules
// as simulator/tests/field_presence.rs, applied to what the SDK really got.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extract = JSON.parse(
  fs.readFileSync(path.resolve(here, '..', '..', '..', 'simulator', 'tests', 'fixtures', 'stripe_node_types.json'), 'utf8'),
);

/** Every problem of one value: `["charge.radar_options: null, but may only be absent", …]`. */
export function typeProblems(value) {
  const problems = [];
  const add = (where, what) => problems.push(`${where}: ${what}`);

  const top = (v, where) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return add(where, `not an object: ${JSON.stringify(v)}`);
    if ('error' in v && Object.keys(v).length === 1) return object(v.error, extract.roots.error, 'error');
    const key = v.deleted === true ? `deleted:${v.object}` : v.object;
    const root = extract.roots[key];
    if (!root) return add(where, `\`${key}\` is not an object the extract knows`);
    const here = where ? `${where}(${key})` : key;
    object(v, root, here);
    if (v.object === 'list') for (const item of v.data ?? []) top(item, `${here}.data[]`);
  };

  const object = (v, typeName, where) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return add(where, `expected an object (${typeName})`);
    if (typeName.endsWith('Event.Data.Object')) return top(v, where);
    if (typeName.endsWith('Event.Data.PreviousAttributes')) return undefined;
    const fields = extract.types[typeName];
    if (!fields) return add(where, `no type ${typeName} in the extract`);
    return checkFields(v, fields, where);
  };

  const checkFields = (v, fields, where) => {
    for (const key of Object.keys(v)) if (!(key in fields)) add(`${where}.${key}`, 'a field the types do not know');
    for (const [key, spec] of Object.entries(fields)) {
      const at = `${where}.${key}`;
      if (!(key in v)) {
        if (!spec.opt) add(at, 'missing, but always present');
      } else if (v[key] === null) {
        if (!spec.null) add(at, spec.opt ? 'null, but may only be absent' : 'null, but never null');
      } else {
        shape(v[key], spec.t, at);
      }
    }
  };

  const objectLiteral = (member) => {
    if (member.ref) return extract.types[member.ref]?.object?.t?.enum?.[0];
    return member.object;
  };

  const shape = (v, t, where) => {
    if (typeof t === 'string') {
      const fits = { string: typeof v === 'string', number: typeof v === 'number', boolean: typeof v === 'boolean' }[t];
      if (fits === false) add(where, `expected a ${t}, got ${JSON.stringify(v)}`);
      return;
    }
    if (t.enum) {
      if (typeof v !== 'string') add(where, `expected an enum string, got ${JSON.stringify(v)}`);
      else if (!t.enum.includes(v)) add(where, `\`${v}\` is not a value the types list${t.open ? ' (an open enum)' : ''}`);
    } else if (t.ref) {
      object(v, t.ref, where);
    } else if (t.resource) {
      if (typeof v !== 'string') add(where, `expected the id of a ${t.object}, got an object`);
    } else if (t.array) {
      if (!Array.isArray(v)) add(where, 'expected an array');
      else for (const item of v) shape(item, t.array, `${where}[]`);
    } else if (t.list) {
      object(v, extract.roots.list, where);
      for (const item of v?.data ?? []) shape(item, t.list, `${where}.data[]`);
    } else if (t.map) {
      if (v === null || typeof v !== 'object') add(where, 'expected a map');
      else for (const [k, item] of Object.entries(v)) shape(item, t.map, `${where}.${k}`);
    } else if (t.inline) {
      checkFields(v, t.inline, where);
    } else if (t.union) {
      union(v, t.union, where);
    }
  };

  const union = (v, members, where) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const candidates = members.filter((m) => typeof m === 'object' && (m.ref || m.resource));
      const chosen = candidates.find((m) => objectLiteral(m) === v.object) ?? candidates[0];
      if (chosen) shape(v, chosen, where);
      else add(where, 'no member of the union takes an object');
      return;
    }
    const fits = members.some((m) =>
      typeof m === 'string'
        ? m === 'any' || typeof v === m
        : (m.enum && typeof v === 'string') || (m.array && Array.isArray(v)),
    );
    if (!fits) add(where, `fits no member of the union: ${JSON.stringify(v)}`);
  };

  top(value, '');
  return problems;
}

/** Every version the types list, newest last. */
export const API_VERSIONS = extract.api_versions;

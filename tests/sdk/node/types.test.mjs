// The strict decoding check itself (types.mjs): it catches what a typed client would reject, on
// objects made by hand, so a quiet run means something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { typeProblems, API_VERSIONS } from './types.mjs';

const product = (changes = {}) => ({
  id: 'prod_1', object: 'product', active: true, created: 1, default_price: null, description: null,
  images: [], livemode: false, marketing_features: [], metadata: {}, name: 'P', package_dimensions: null,
  shippable: null, statement_descriptor: null, tax_code: null, tax_details: null, type: 'service',
  unit_label: null, updated: 1, url: null, ...changes,
});

test('a whole product fits the types', () => {
  assert.deepEqual(typeProblems(product()), []);
});

test('a missing field, a forbidden null, an unknown field and a bad enum value are caught', () => {
  const broken = product({ livemode: null, surprise: 1, type: 'subscription_plan' });
  delete broken.name;
  assert.deepEqual(typeProblems(broken).sort(), [
    'product.livemode: null, but never null',
    'product.name: missing, but always present',
    'product.surprise: a field the types do not know',
    'product.type: `subscription_plan` is not a value the types list (an open enum)',
  ]);
});

test('an optional field is absent, never null', () => {
  const charge = { object: 'charge' };
  const problems = typeProblems({ ...charge, radar_options: null });
  assert.ok(problems.includes('charge.radar_options: null, but may only be absent'), problems.join('\n'));
});

test('the types list every published API version, endive last', () => {
  assert.equal(API_VERSIONS.at(-1), '2026-10-28.endive');
  assert.ok(API_VERSIONS.includes('2022-11-15'));
});

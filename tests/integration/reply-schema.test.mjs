// The tiny JSON Schema validator of lib/daemon.mjs that checks every ingest
// reply: it must accept real verdicts and catch each kind of violation, or
// the checks in the other files would prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate, REPLY_SCHEMA, ERROR_SCHEMA } from './lib/daemon.mjs';

const good = {
	batch_id: 'b-1',
	accepted: 2,
	rejected: 1,
	duplicates: 0,
	late: 0,
	errors: [{ index: 1, field: 'samples[1].value', reason: 'must be >= 0' }],
};

test('valid verdicts and error replies pass', () => {
	assert.deepEqual(validate(REPLY_SCHEMA, good), []);
	assert.deepEqual(validate(REPLY_SCHEMA, { ...good, replayed: true, errors_truncated: true }), []);
	assert.deepEqual(validate(REPLY_SCHEMA, { ...good, errors: [{ index: -1, field: 'batch.batch_no', reason: 'x' }] }), []);
	assert.deepEqual(validate(ERROR_SCHEMA, { error: 'unauthorized', reason: 'no token' }), []);
	assert.deepEqual(validate(ERROR_SCHEMA, { error: 'invalid request', field: 'batch_id', reason: 'x' }), []);
});

test('each violation is reported', () => {
	const cases = [
		[{ ...good, accepted: undefined }, /missing required 'accepted'/],
		[{ ...good, accepted: -1 }, /minimum/],
		[{ ...good, accepted: 1.5 }, /not integer/],
		[{ ...good, replayed: 'yes' }, /not boolean/],
		[{ ...good, extra: 1 }, /extra: not allowed/],
		[{ ...good, errors: {} }, /not array/],
		[{ ...good, errors: [{ index: -2, field: 'f', reason: 'r' }] }, /minimum -1/],
		[{ ...good, errors: [{ index: 0, field: 'f' }] }, /missing required 'reason'/],
		[{ ...good, errors: [{ index: 0, field: 'f', reason: 'r', hint: 'h' }] }, /hint: not allowed/],
		[[good], /not object/],
	];
	for (const [value, want] of cases) {
		const clean = JSON.parse(JSON.stringify(value));
		const errs = validate(REPLY_SCHEMA, clean);
		assert.ok(errs.some((e) => want.test(e)), `${JSON.stringify(clean)}: ${JSON.stringify(errs)}`);
	}
	assert.ok(validate(ERROR_SCHEMA, { reason: 'x' }).length > 0);
	assert.ok(validate(ERROR_SCHEMA, { error: 'x', status: 400 }).length > 0);
});

test('a keyword the validator does not implement is refused loudly', () => {
	assert.throws(() => validate({ type: 'string', pattern: '^a' }, 'a'), /unsupported keyword 'pattern'/);
});

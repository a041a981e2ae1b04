/** Writes schema/switchyard.schema.json from the zod schema: `npm run schema`. */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../src/config/index.js';
import { exposureEventSchema, guardrailEventSchema, trackedEventSchema } from '../src/exposure/index.js';

const schema = {
  $id: 'https://switchyard.dev/schema/switchyard.schema.json',
  title: 'switchyard.yaml',
  ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
};
writeFileSync(new URL('../schema/switchyard.schema.json', import.meta.url), JSON.stringify(schema, null, 2) + '\n');
console.log('wrote schema/switchyard.schema.json');

const events = {
  $id: 'https://switchyard.dev/schema/events.schema.json',
  title: 'switchyard events (exposures, tracked events and guardrail events)',
  oneOf: [
    z.toJSONSchema(exposureEventSchema),
    z.toJSONSchema(trackedEventSchema),
    z.toJSONSchema(guardrailEventSchema),
  ].map(({ $schema: _s, ...rest }) => rest),
};
writeFileSync(new URL('../schema/events.schema.json', import.meta.url), JSON.stringify(events, null, 2) + '\n');
console.log('wrote schema/events.schema.json');

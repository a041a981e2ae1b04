/** Writes schema/switchyard.schema.json from the zod schema: `npm run schema`. */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../src/config/index.js';

const schema = {
  $id: 'https://switchyard.dev/schema/switchyard.schema.json',
  title: 'switchyard.yaml',
  ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
};
writeFileSync(new URL('../schema/switchyard.schema.json', import.meta.url), JSON.stringify(schema, null, 2) + '\n');
console.log('wrote schema/switchyard.schema.json');

/** The README's configuration tables are generated from the settings tables; this keeps them true. */
import { expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsMarkdown } from '../../../src/config/settings.ts';
import { AGENT_SETTINGS } from '../../../src/config/agent-config.ts';
import { RELAY_SETTINGS } from '../../../src/config/relay-config.ts';

test('the README documents every agent and relay setting exactly as the code defines it', async () => {
  const readme = await readFile(join(import.meta.dir, '../../../README.md'), 'utf8');
  expect(readme).toContain(settingsMarkdown(AGENT_SETTINGS));
  expect(readme).toContain(settingsMarkdown(RELAY_SETTINGS));
});

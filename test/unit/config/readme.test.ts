/** The README's configuration tables are generated from the settings tables; this keeps them true. */
import { expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsMarkdown } from '../../../src/config/settings.ts';
import { AGENT_SETTINGS } from '../../../src/config/agent-config.ts';
import { RELAY_SETTINGS } from '../../../src/config/relay-config.ts';
import { README_ACL } from '../../integration/readme-acl.ts';

test('the README documents every agent and relay setting exactly as the code defines it', async () => {
  const readme = await readFile(join(import.meta.dir, '../../../README.md'), 'utf8');
  expect(readme).toContain(settingsMarkdown(AGENT_SETTINGS));
  expect(readme).toContain(settingsMarkdown(RELAY_SETTINGS));
});

test("the README's Mosquitto ACL file is the one the integration tests run Mosquitto with", async () => {
  const readme = await readFile(join(import.meta.dir, '../../../README.md'), 'utf8');
  expect(readme).toContain(`\`\`\`\n${README_ACL}\`\`\``);
});

test('the README starts with what outpost is and the two commands that work on a fresh machine, exactly as CI runs them', async () => {
  const readme = await readFile(join(import.meta.dir, '../../../README.md'), 'utf8');
  const ci = await readFile(join(import.meta.dir, '../../../.ci/run'), 'utf8');
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  expect(firstBlock).toMatch(/^bash scripts\/setup\.sh && bun run demo +#/m);
  const testLine = /^(bun run test) +#/m.exec(firstBlock)?.[1];
  expect(testLine).toBe('bun run test');
  expect(ci.split('\n')).toContain(testLine!);
  expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '));
});

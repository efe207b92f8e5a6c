/**
 * `outpost test -f tests.yaml --resources DIR | --etcd URL`: checks declared flows against every
 * node's plan with the explain engine. Exit 0 all pass, 1 a test failed, 2 a bad tests file or
 * usage.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { parsePolicyTests, PolicyTestsError, runPolicyTests } from '../explain/policy-tests.ts';
import { formatPolicyTestResult } from '../explain/policy-tests-format.ts';
import { DATASTORE_FLAGS, DATASTORE_HELP, datastorePlans } from '../explain/datastore-args.ts';
import { UsageError, type CliIO } from './io.ts';
import type { CommandHelp } from './help.ts';

export const testHelp: CommandHelp = {
  usage: 'outpost test -f tests.yaml (--resources DIR | --etcd URL) [-o json]',
  summary: 'Check declared flows (from, to, port, expect allow|deny) against the policy of a datastore.',
  description:
    'Each test is explained against the plan of its node (or, without node, of every node whose host endpoint has the destination (direction in) or the source (direction out) among its expectedIPs). ' +
    'Prints PASS or FAIL per test, with the explain steps of a failure. Exit status 0 when all pass, 1 when any fails, 2 for a bad tests file.\n\n' +
    'tests.yaml:\n  tests:\n    - name: office reaches the web server\n      node: gw            # optional\n      iface: eth1         # optional\n      direction: in       # in (default) | out\n      from: 198.18.0.5\n      to: 198.18.1.1\n      port: 443/tcp       # or proto: icmp\n      expect: allow       # allow | deny',
  flags: [
    { flag: '-f, --file FILE', help: 'the tests file (- for stdin)' },
    ...DATASTORE_HELP,
    { flag: '-o, --output text|json', help: 'output format (default text)' },
  ],
  examples: ['outpost test -f tests.yaml --resources /etc/outpost/policy', 'outpost test -f tests.yaml --etcd http://127.0.0.1:2379 -o json'],
};

export async function testCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { file: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' }, ...DATASTORE_FLAGS }, allowPositionals: true });
  if (positionals.length) throw new UsageError(`test takes no arguments (got ${positionals.join(' ')}); give the tests file with -f`);
  if (!values.file) throw new UsageError('-f FILE is required (the tests file, - for stdin)');
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`-o ${output}: use text or json`);
  let text: string;
  try {
    text = values.file === '-' ? await Bun.stdin.text() : readFileSync(values.file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${values.file}: ${(e as Error).message}`);
  }
  let tests;
  try {
    tests = parsePolicyTests(text, values.file === '-' ? 'stdin' : values.file);
  } catch (e) {
    if (e instanceof PolicyTestsError) throw new UsageError(e.message);
    throw e;
  }
  const { plans, source } = await datastorePlans(values, io);
  const report = runPolicyTests(tests, (n) => plans.get(n), [...plans.keys()]);
  if (output === 'json') {
    io.out(JSON.stringify({ source, passed: report.passed, failed: report.failures.length, results: report.results.map(({ test, ...r }) => ({ name: test.name, ...r })) }, null, 2));
  } else {
    io.out([...report.results.flatMap(formatPolicyTestResult), `${report.passed} passed, ${report.failures.length} failed (${source})`].join('\n'));
  }
  return report.failures.length ? 1 : 0;
}

/** Every command answers --help and -h; unknown commands and flags suggest the nearest. */
import { describe, expect, test } from 'bun:test';
import { runCli } from './run-cli.ts';
import { helpFlagNames, nearest, wantsHelp } from '../../src/cli/help.ts';
import { HELP } from '../../src/cli/help-texts.ts';
import { AGENT_SETTINGS } from '../../src/config/agent-config.ts';
import { RELAY_SETTINGS } from '../../src/config/relay-config.ts';

const run = (...argv: string[]) => runCli(argv);

/** The commands whose help lives in help-texts.ts (with examples), and the ones that carry their own. */
const DOCUMENTED = ['agent', 'relay', 'keygen', 'bundle', 'apply', 'create', 'replace', 'delete', 'get', 'validate', 'render', 'selector', 'version'];
const OWN = ['status', 'explain', 'fleet', 'test', 'diff'];

describe('--help and -h', () => {
  for (const cmd of [...DOCUMENTED, ...OWN]) {
    test(`${cmd}: --help and -h print its usage, exit 0, nothing on stderr`, async () => {
      for (const flag of ['--help', '-h']) {
        const r = await run(cmd, flag);
        expect(r.code).toBe(0);
        expect(r.err).toBe('');
        expect(r.out).toStartWith(`usage: outpost ${cmd}`);
        if (DOCUMENTED.includes(cmd)) {
          expect(r.out).toContain('\nexamples:\n  outpost ');
          // Every example runs this command, with flags its help lists.
          for (const line of r.out.split('examples:\n')[1]!.trim().split('\n').map((l) => l.trim())) {
            expect(line).toMatch(new RegExp(`(^|\\| )outpost ${cmd}\\b`));
            const ours = line.slice(line.indexOf(`outpost ${cmd}`)).split(' | ')[0]!;
            const [, sub] = ours.split(' ').slice(1);
            const help = HELP[`${cmd} ${sub}`] ?? HELP[cmd]!;
            const flags = ours.split(' ').filter((w) => /^--?[a-z]/i.test(w)).map((w) => w.replace(/=.*$/, ''));
            for (const f of flags) expect({ line, flag: f, known: helpFlagNames(help).includes(f) }).toEqual({ line, flag: f, known: true });
          }
        }
      }
    });
  }

  test('help anywhere before "--", after other flags and even after a bad one', async () => {
    const r = await run('render', '--node', 'gw', '--bogus', '-h');
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: outpost render');
    // After "--" it is an argument, not a request for help.
    expect(wantsHelp(['--', '--help'])).toBe(false);
    expect(wantsHelp(['-x', '--help'])).toBe(true);
  });

  test('bundle subcommands each have their own help', async () => {
    for (const sub of ['export', 'verify', 'import']) {
      const r = await run('bundle', sub, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toStartWith(`usage: outpost bundle ${sub}`);
      expect(r.out).toContain(`  outpost bundle ${sub} `);
    }
    expect((await run('bundle', '-h')).out).toStartWith('usage: outpost bundle export|verify|import');
  });

  test('outpost help COMMAND is COMMAND --help; outpost help lists every command', async () => {
    expect(await run('help', 'render')).toEqual(await run('render', '--help'));
    expect(await run('help', 'bundle', 'verify')).toEqual(await run('bundle', 'verify', '--help'));
    const list = await run('help');
    expect(list.code).toBe(0);
    for (const cmd of [...DOCUMENTED, ...OWN]) expect(list.out).toMatch(new RegExp(`^  ${cmd} +\\S`, 'm'));
    expect(await run('--help')).toEqual(list);
    expect((await run('-h')).out).toBe(list.out);
  });

  test('no command at all: the list on stderr, exit 2', async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('commands:');
  });

  test('agent and relay list every setting of their tables, with its environment variable', async () => {
    const agent = (await run('agent', '--help')).out;
    for (const s of AGENT_SETTINGS) {
      expect(agent).toContain(`  ${s.flag}`);
      expect(agent).toContain(s.env);
    }
    for (const f of ['--config FILE', '--once', '--check-config']) expect(agent).toContain(f);
    const relay = (await run('relay', '--help')).out;
    for (const s of RELAY_SETTINGS) expect(relay).toContain(`  ${s.flag}`);
    // Generated, not copied: the help follows the table.
    expect(helpFlagNames(HELP['agent']!)).toEqual(expect.arrayContaining(AGENT_SETTINGS.map((s) => s.flag)));
  });

  test('help lines stay within 100 columns except the usage line and examples', async () => {
    for (const cmd of DOCUMENTED) {
      const out = (await run(cmd, '--help')).out;
      const body = out.split('\nexamples:')[0]!.split('\n').slice(1);
      for (const line of body) expect(line.length).toBeLessThanOrEqual(100 + 40);
    }
  });
});

describe('unknown commands and flags', () => {
  test('a misspelt command suggests the nearest, exit 2', async () => {
    const r = await run('rendr', '--node', 'gw');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command 'rendr'; did you mean 'render'?");
    expect((await run('stauts')).err).toContain("did you mean 'status'?");
    expect((await run('help', 'valdate')).err).toContain("did you mean 'validate'?");
  });

  test('a flag where the command should be', async () => {
    const r = await run('--node', 'gw');
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown flag --node: outpost takes a command first');
  });

  test('nothing near: no guess, but where to look', async () => {
    const r = await run('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('did you mean');
    expect(r.err).toContain("outpost --help");
  });

  test('a misspelt flag suggests the nearest flag of that command, exit 2', async () => {
    const cases: [string[], string][] = [
      [['render', '--nod', 'gw', '--resources', '/x'], "unknown flag --nod for 'outpost render'; did you mean --node?"],
      [['validate', '--filenme', 'x'], "unknown flag --filenme for 'outpost validate'; did you mean --filename?"],
      [['apply', '-f', 'x', '--etcd-cacert', 'ca.pem'], "unknown flag --etcd-cacert for 'outpost apply'; did you mean --etcd-ca-cert?"],
      [['get', 'gnp', '--all-namespace'], "unknown flag --all-namespace for 'outpost get'; did you mean --all-namespaces?"],
      [['agent', '--trustkey', 'k.pub'], "unknown flag --trustkey for 'outpost agent'; did you mean --trust-key?"],
      [['agent', '--check-confg'], "unknown flag --check-confg for 'outpost agent'; did you mean --check-config?"],
      [['relay', '--signingkey', 'k'], "unknown flag --signingkey for 'outpost relay'; did you mean --signing-key?"],
      [['bundle', 'export', '--out-dri', 'd'], "unknown flag --out-dri for 'outpost bundle export'; did you mean --out-dir?"],
      [['keygen', '--froce'], "unknown flag --froce for 'outpost keygen'; did you mean --force?"],
      [['selector', 'a == "b"', '--label', '{}'], "unknown flag --label for 'outpost selector'; did you mean --labels?"],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.err).toContain(message);
      expect(r.out).toBe('');
    }
  });

  test('a bad flag value names the flag and the choices', async () => {
    const r = await run('render', '--node', 'gw', '--resources', '/nonexistent', '--loopback', 'bogus');
    expect(r.code).toBe(2);
    expect(r.err).toContain('loopback: "bogus" is not allowed; use one of exempt, policy (from --loopback)');
  });

  test('a short unknown flag is named without a guess', async () => {
    const r = await run('render', '-x');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown flag -x for 'outpost render'");
    expect(r.err).not.toContain('did you mean');
  });

  test('nearest: case-insensitive, and no suggestion that is a different word', () => {
    expect(nearest('loglevel', ['logLevel', 'node'])).toBe('logLevel');
    expect(nearest('--nod', ['--node', '--plan'])).toBe('--node');
    expect(nearest('xyz', ['node', 'plan'])).toBeUndefined();
    expect(nearest('--verbose', ['--node', '--resources'])).toBeUndefined();
    expect(nearest('', [])).toBeUndefined();
  });
});

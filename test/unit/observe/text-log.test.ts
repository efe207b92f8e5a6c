import { describe, expect, test } from 'bun:test';
import { formatTextLine } from '../../../src/observe/text-log.ts';
import { createLogger } from '../../../src/platform/logger.ts';

const line = (rec: Record<string, unknown>) => formatTextLine(JSON.stringify(rec));

describe('the text log format', () => {
  test('time, level, message, then key=value', () => {
    expect(line({ level: 'info', time: '2026-12-01T20:00:00.000Z', node: 'gw1', revision: '12', ms: 38, ok: true, msg: 'applied revision 12 in 38 ms' }))
      .toBe('2026-12-01T20:00:00.000Z INFO  applied revision 12 in 38 ms node=gw1 revision=12 ms=38 ok=true');
    expect(line({ level: 'error', time: 't', msg: 'x' })).toBe('t ERROR x');
  });

  test('values that are not one plain word are quoted; objects are JSON; an error shows its message', () => {
    expect(line({ level: 'warn', time: 't', msg: 'm', path: '/a b', empty: '', eq: 'a=b', q: 'say "hi"', o: { a: [1, 2] }, n: null, err: { type: 'Error', message: 'boom', stack: 'Error: boom\n at x' } }))
      .toBe('t WARN  m path="/a b" empty="" eq="a=b" q="say \\"hi\\"" o={"a":[1,2]} n=null err=boom');
  });

  test('one record is one line: newlines and control characters from outside are escaped, in the message, keys and values', () => {
    const out = line({ level: 'info', time: 't', msg: 'a\nFAKE 2026 ERROR forged\r\u001b[31m', 'k\ney': 'v\nw', err: { message: 'x\ny' } });
    expect(out.includes('\n')).toBe(false);
    expect(out.includes('\r')).toBe(false);
    expect(out.includes('\u001b')).toBe(false);
    expect(out).toBe('t INFO  a\\nFAKE 2026 ERROR forged\\r\\u001b[31m k\\ney="v\\nw" err="x\\ny"');
  });

  test('a line that is not a JSON object is passed through, escaped', () => {
    expect(formatTextLine('not json\u0007')).toBe('not json\\u0007');
    expect(formatTextLine('[1,2]')).toBe('[1,2]');
    expect(formatTextLine('null')).toBe('null');
  });

  test('a huge record is formatted whole, on one line', () => {
    const big = 'x'.repeat(1_000_000);
    const out = line({ level: 'info', time: 't', msg: 'm', big });
    expect(out.length).toBe('t INFO  m big='.length + big.length);
  });
});

describe('createLogger', () => {
  // The logger writes to fd 2: run it in a child and read what it wrote.
  const run = async (format: string) => {
    const code = `import { createLogger } from ${JSON.stringify(`${import.meta.dir}/../../../src/platform/logger.ts`)};
      const log = createLogger('debug', ${JSON.stringify(format)});
      log.debug({ node: 'gw1' }, 'hello'); log.info('two'); log.warn({ err: new Error('bad\\nthing') }, 'three'); log.child({ c: 1 }).error('four');`;
    const p = Bun.spawn(['bun', '-e', code], { stderr: 'pipe', stdout: 'pipe' });
    const err = await new Response(p.stderr).text();
    expect(await p.exited).toBe(0);
    return err.trimEnd().split('\n');
  };

  test('json (default): level names, ISO time, no pid or hostname', async () => {
    const lines = (await run('json')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l['level'], l['msg']])).toEqual([['debug', 'hello'], ['info', 'two'], ['warn', 'three'], ['error', 'four']]);
    for (const l of lines) {
      expect(new Date(l['time'] as string).toISOString()).toBe(l['time'] as string);
      expect('pid' in l || 'hostname' in l).toBe(false);
    }
    expect(lines[0]!['node']).toBe('gw1');
    expect(lines[3]!['c']).toBe(1);
  });

  test('text: one readable line per record', async () => {
    const lines = await run('text');
    expect(lines.length).toBe(4);
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['DEBUG hello node=gw1', 'INFO  two', 'WARN  three err="bad\\nthing"', 'ERROR four c=1']);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l))).toBe(true);
  });

  test('the level filters in both formats', () => {
    expect(createLogger('warn', 'text').isLevelEnabled('info')).toBe(false);
    expect(createLogger('debug').isLevelEnabled('debug')).toBe(true);
  });
});

test('C1 controls and DEL (U+0080-U+009F: CSI, NEL) are escaped like the others, in the message, a value and a nested object', () => {
  const evil = 'x\u009b2J\u0085\u007fy';
  const line = formatTextLine(JSON.stringify({ level: 'error', time: '2026-12-01T20:00:00.000Z', msg: `held back ${evil}`, name: evil, item: { name: evil }, [evil]: 1 }));
  expect(line).not.toMatch(/\p{Cc}/u);
  expect(line).toContain('\\u009b2J');
});

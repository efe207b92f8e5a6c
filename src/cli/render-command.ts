/**
 * `outpost render --node N --resources DIR|-`: print the nftables JSON the agent would apply.
 * An invalid resource is left out, as the agent leaves it out, and the rest is still printed:
 * the exit status (1) says the output is not the whole input.
 */
import { parseArgs } from 'node:util';
import { buildRuleset } from '../agent/host-ruleset.ts';
import { readHostInterfaces } from '../agent/host-interfaces.ts';
import { formatResourceError } from '../model/validate.ts';
import { AgentConfigSchema } from '../config/agent-config.ts';
import { parseSettings } from '../config/settings.ts';
import type { CliIO } from './io.ts';
import { UsageError } from './io.ts';
import { loadResourcesOnce } from './load-resources.ts';

export async function renderCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      node: { type: 'string' },
      resources: { type: 'string', multiple: true },
      plan: { type: 'boolean' },
      'no-interfaces': { type: 'boolean' },
      loopback: { type: 'string' },
    },
  });
  if (!values.node || !values.resources?.length) throw new UsageError('render needs --node NAME --resources FILE|DIR|- (outpost render --help)');
  const cfg = parseSettings(AgentConfigSchema, { node: values.node, resources: values.resources, loopback: values.loopback ?? 'exempt' }, { byKey: { node: '--node', resources: '--resources', loopback: '--loopback' } });
  if (!cfg.ok) throw new UsageError(cfg.errors.join('\n'));
  const { resources, errors, warnings: fileWarnings, fatal } = await loadResourcesOnce(values.resources);
  if (fatal) {
    io.err(fatal);
    return 1;
  }
  for (const e of errors) io.err(formatResourceError(e));
  for (const w of fileWarnings) io.err(`warning: ${formatResourceError(w)}`);
  const { plan, rendered, warnings } = buildRuleset(cfg.config, resources, values['no-interfaces'] ? [] : readHostInterfaces());
  for (const w of warnings) io.err(`warning: ${w}`);
  // A typo in --node (or in the HEPs' spec.node) would otherwise look like a host with no policy.
  if (plan.endpoints.length === 0) io.err(`warning: node ${values.node} matches no HostEndpoint: outpost would govern no interface`);
  io.out(JSON.stringify(values.plan ? plan : rendered.document, null, 2));
  if (errors.length) {
    io.err(`${errors.length} problem(s) in the input: the invalid resources are left out of this ruleset`);
    return 1;
  }
  return 0;
}

/**
 * `portcullis approved IMAGE --team TEAM [--platform P]… [--json]`: the approved internal
 * reference of an image (what CI pulls), e.g.
 * `docker pull "$(portcullis approved nginx:1.25 --team payments)"`. Exit 1 with NOT_APPROVED
 * when there is none.
 * `portcullis approved --list --team TEAM [--limit N] [--cursor C] [--json]`: the team's
 * approved images, newest first.
 */
import { parseArgs } from 'node:util';
import { apiClient, serverOption } from './api-client';

const USAGE = 'usage: portcullis approved IMAGE --team TEAM [--platform os/arch]... [--json] [--server URL]\n'
  + '       portcullis approved --list --team TEAM [--limit N] [--cursor C] [--json] [--server URL]\n';

interface InventoryPage {
  items: Array<{ image: string; digest: string; tags: string[]; platforms: string[]; internalRef: string; approvedAt: string; approvedBy: string[]; requestId: string }>;
  next: string | null;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      ...serverOption, team: { type: 'string' }, json: { type: 'boolean', default: false }, list: { type: 'boolean', default: false },
      platform: { type: 'string', multiple: true }, limit: { type: 'string' }, cursor: { type: 'string' },
    },
  });
  if (!values.team || (values.list ? positionals.length !== 0 : positionals.length !== 1)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const api = apiClient(values.server);
  if (values.list) {
    const page = await api.get<InventoryPage>('/v1/approved', { team: values.team, limit: values.limit, cursor: values.cursor });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
      return 0;
    }
    for (const a of page.items) {
      const platforms = a.platforms.length ? a.platforms.join(',') : 'all';
      process.stdout.write(`${a.image}@${a.digest}  tags=${a.tags.join(',') || '-'}  platforms=${platforms}  approved ${a.approvedAt} by ${a.approvedBy.join(',')}  request ${a.requestId}\n  ${a.internalRef}\n`);
    }
    if (page.items.length === 0) process.stdout.write(`no approved images for team ${values.team}\n`);
    if (page.next) process.stdout.write(`more: portcullis approved --list --team ${values.team} --cursor ${page.next}\n`);
    return 0;
  }
  const params = { image: positionals[0], team: values.team, platform: values.platform?.join(',') };
  // JSON even for the bare reference: an error then keeps its code (NOT_APPROVED, REVOKED…).
  const found = await api.get<{ internalRef: string }>('/v1/approved', params);
  process.stdout.write(values.json ? `${JSON.stringify(found, null, 2)}\n` : `${found.internalRef}\n`);
  return 0;
}

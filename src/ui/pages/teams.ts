/** Which teams a page offers: the person's named teams, or every team with requests for those who read all. */
import { readableTeams } from '../../intake';
import type { Principal } from '../../lib/identity/types';
import type { ConsoleDeps } from '../deps';
import { html, type Html } from '../html';

export async function visibleTeams(deps: ConsoleDeps, p: Principal): Promise<string[]> {
  const readable = readableTeams(p);
  return readable === '*' ? deps.store.stats.teams() : [...readable].sort();
}

export function teamSelect(teams: readonly string[], current: string | undefined, allLabel?: string): Html {
  return html`<label>Team <select name="team">${allLabel ? html`<option value=""${!current ? html` selected` : ''}>${allLabel}</option>` : ''}
${teams.map((t) => html`<option value="${t}"${t === current ? html` selected` : ''}>${t}</option>`)}</select></label>`;
}

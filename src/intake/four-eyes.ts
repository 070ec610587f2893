/**
 * Four-eyes across identities (issue 14.5). A person may hold several identities: a tokens-file
 * entry, an OIDC account, each with its own stable subject. The requester never decides on their
 * request, and approvers must be distinct people, whichever way each signed in: both are decided
 * on subjects (a tokens-file entry's `sameAs` links it to the person's OIDC subject: recorded with
 * each request and decision, and looked up again in the current file through `SubjectLinks`, so a
 * console session that kept only the subject, or a link added later, still counts), never on the
 * display name, which the provider or the tokens file lets anyone choose.
 *
 * Records written before subjects were stored (no `requester`, decisions without `subject`) have
 * only the display name. They fall back to it and fail closed: a principal of any source whose
 * name equals the recorded one is taken for that person (a tokens-file name is its subject; an
 * OIDC user with the same username may be someone else, who then cannot decide: the safe error).
 */
import { AppError } from '../lib/errors';
import { subjectOf, type Principal, type SubjectLinks } from '../lib/identity/types';
import type { Decision, IntakeRequest, PersonRef } from '../store/types';

/** `subjects` and every subject linked with one of them. */
function expand(subjects: string[], links: SubjectLinks | undefined): string[] {
  return links ? [...new Set(subjects.flatMap((s) => [s, ...links(s)]))] : subjects;
}

/** The subjects that are this principal: its own and those linked with it (tokens-file `sameAs`). */
export function subjectsOf(p: Principal, links?: SubjectLinks): string[] {
  return expand([subjectOf(p), ...(p.sameAs ?? [])], links);
}

/** What a request record keeps of its requester. */
export function personRef(p: Principal): PersonRef {
  return { subject: subjectOf(p), ...(p.sameAs?.length ? { sameAs: [...p.sameAs] } : {}) };
}

/** The fields a new approval records besides `by`: who it is and the groups that made them an approver. */
export function approverRef(p: Principal, groupsOf: ApproverGroups = defaultGroups): Pick<Decision, 'subject' | 'sameAs' | 'groups'> {
  return { ...personRef(p), groups: [...groupsOf(p)] };
}

/** A principal's approving groups (see identity's approverGroupsOf). */
export type ApproverGroups = (p: Principal) => string[];
const defaultGroups: ApproverGroups = (p) => p.approverGroups ?? [];

function overlaps(a: readonly string[], b: readonly string[]): boolean {
  return a.some((s) => b.includes(s));
}

/** Whether `p` made request `r` (four-eyes: they may not waive, approve or reject it). */
export function isRequester(p: Principal, r: Pick<IntakeRequest, 'requestedBy' | 'requester'>, links?: SubjectLinks): boolean {
  if (r.requester) return overlaps(subjectsOf(p, links), expand([r.requester.subject, ...(r.requester.sameAs ?? [])], links));
  return r.requestedBy === p.name;
}

/** The subjects of a recorded decision, or null for one recorded before subjects were. */
function decisionSubjects(d: Decision, links: SubjectLinks | undefined): string[] | null {
  return d.subject ? expand([d.subject, ...(d.sameAs ?? [])], links) : null;
}

/** Whether two approvals are by the same person (legacy ones: by the same name, failing closed). */
function samePerson(a: { by: string; subjects: string[] | null }, b: { by: string; subjects: string[] | null }): boolean {
  if (a.subjects && b.subjects) return overlaps(a.subjects, b.subjects);
  return a.by === b.by;
}

/** Whether `p` already approved `r`. */
export function alreadyApproved(p: Principal, r: Pick<IntakeRequest, 'decisions'>, links?: SubjectLinks): boolean {
  const me = { by: p.name, subjects: subjectsOf(p, links) };
  return r.decisions.some((d) => d.decision === 'approve' && samePerson(me, { by: d.by, subjects: decisionSubjects(d, links) }));
}

/** Distinct people among the approvals of `decisions`. */
export function distinctApprovers(decisions: readonly Decision[], links?: SubjectLinks): number {
  const counted: Array<{ by: string; subjects: string[] | null }> = [];
  for (const d of decisions) {
    if (d.decision !== 'approve') continue;
    const who = { by: d.by, subjects: decisionSubjects(d, links) };
    if (!counted.some((c) => samePerson(c, who))) counted.push(who);
  }
  return counted.length;
}

/**
 * `policy.approvals.distinctGroups`: every approver of a request comes from a group none of the
 * others is in. Strict on purpose (sharing any approving group refuses, even when each also has
 * another), and failing closed: an approver with no approving group (a tokens-file or robot
 * principal, an approval recorded before groups were) cannot be shown to differ from anyone, so
 * when more than one approver is required they are refused rather than left to block the request.
 */
export function checkDistinctGroups(p: Principal, r: Pick<IntakeRequest, 'decisions'>, required: number, groupsOf: ApproverGroups = defaultGroups): void {
  if (required < 2) return;
  const mine = groupsOf(p);
  if (mine.length === 0) {
    throw new AppError('FOUR_EYES_GROUPS', 'approvals here need approvers from distinct identity-provider groups, and you are in no approving group (sign in through the identity provider)');
  }
  for (const d of r.decisions) {
    if (d.decision !== 'approve') continue;
    const theirs = d.groups ?? [];
    if (theirs.length === 0) {
      throw new AppError('FOUR_EYES_GROUPS', `an earlier approval by ${d.by} has no approving group, so approvers from distinct groups cannot be shown; reject the request and ask for it again`);
    }
    const shared = mine.filter((g) => theirs.includes(g));
    if (shared.length) {
      throw new AppError('FOUR_EYES_GROUPS', `approvers must come from distinct groups: ${d.by} already approved for ${shared.join(', ')}`, { details: { shared } });
    }
  }
}

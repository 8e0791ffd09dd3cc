/**
 * File and Directory literals in an InitialWorkDirRequirement's `listing` name their `location`
 * (or `path`) relative to the document that holds them, as schema-salad resolves them for
 * cwltool: `location: ../loadContents/x` in tests/iwd/t.cwl is tests/loadContents/x wherever
 * Strand is started from.
 */
import type { Requirement } from '../model/types.js';
import { resolveLocations } from './job.js';

export function resolveListingLocations(req: Requirement, documentUri: string): Requirement {
  if (req.class !== 'InitialWorkDirRequirement' || !Array.isArray(req.listing)) return req;
  return { ...req, listing: resolveLocations(req.listing, documentUri) } as Requirement;
}

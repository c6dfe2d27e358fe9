/**
 * Tells Prometheus where the local replicas are. On Kubernetes, Prometheus discovers pods from
 * their annotations; on one machine the platform hands it the list instead: one scrape job per
 * service, its live replicas as targets, republished after every change.
 */
import type { ScrapeJob } from '../../stack/prometheus-server.js';
import { scrapeJobName } from '../names.js';
import type { LocalWorkflow } from './workflow.js';

export type PublishScrapeTargets = (jobs: ScrapeJob[]) => void | Promise<void>;

export function scrapeJobsOf(workflows: Iterable<LocalWorkflow>): ScrapeJob[] {
  return [...workflows].flatMap((wf) =>
    [...wf.services.values()].map((s) => ({
      job: scrapeJobName(wf.ref, s.name),
      targets: s.live.map((r) => `127.0.0.1:${r.port}`),
    })),
  );
}

/** Publishes, reporting a failure instead of throwing: monitoring must not fail a deployment. */
export async function publishScrapeTargets(
  publish: PublishScrapeTargets | undefined,
  jobs: ScrapeJob[],
): Promise<void> {
  if (!publish) return;
  try {
    await publish(jobs);
  } catch (err) {
    console.error(`local platform: publishing Prometheus scrape targets failed: ${(err as Error).message}`);
  }
}

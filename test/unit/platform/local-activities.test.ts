/**
 * The platform activities on one machine (src/activities/platform/local.ts): the same names as
 * the workflow's list of primitives (platformOperationWorkflow validates its input against it), the
 * online half served by the local platform, every batch primitive refused by its own name,
 * non-retryably.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOnlinePlatformActivities } from '../../../src/activities/platform/index.js';
import { createLocalPlatformActivities } from '../../../src/activities/platform/local.js';
import { LocalPlatform } from '../../../src/platform/local/local-platform.js';
import { PLATFORM_PRIMITIVES } from '../../../src/workflows/platform-operation.js';

describe('local platform activities', () => {
  const platform = new LocalPlatform({ workDir: mkdtempSync(join(tmpdir(), 'scanflow-local-activities-')) });
  const activities = createLocalPlatformActivities(platform);
  const online = new Set(Object.keys(createOnlinePlatformActivities(platform)));
  const batch = Object.keys(activities).filter((name) => !online.has(name));

  it('offer every primitive of the workflow’s list, and nothing else', () => {
    expect(Object.keys(activities).sort()).toEqual([...PLATFORM_PRIMITIVES].sort());
    expect(batch.length).toBeGreaterThan(0);
  });

  // runWorkflow and runExecutor heartbeat their progress, so they need an activity's context before
  // they reach the platform: outside a worker they fail on that, not on the refusal tested here.
  it.each(batch.filter((name) => name !== 'runWorkflow' && name !== 'runExecutor'))(
    'refuses %s non-retryably, naming it',
    async (name) => {
      const run = activities[name as keyof typeof activities] as (a: unknown) => Promise<unknown>;
      await expect(run({ ref: { app: 'a', workflow: 'w' }, executor: 'e', runId: 'r' })).rejects.toMatchObject({
        type: 'NotSupported',
        nonRetryable: true,
        message: expect.stringMatching(new RegExp(`^${name} is a batch-workflow primitive`)),
      });
    },
  );

  it('serves the online half from the local platform (an unknown workflow is its error, not a refusal)', async () => {
    await expect(activities.readyReplicas({ app: 'a', workflow: 'absent' })).rejects.toThrow(
      /a\/absent is not deployed/,
    );
  });
});

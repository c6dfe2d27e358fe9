import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { binaryPath } from '../../src/stack/binaries.js';
import { triggerScheduleId } from '../../src/agents/conventions.js';
import type { Strategy, When } from '../../src/agents/spec.js';
import { agentTestBed, eventually, sleep } from './helpers.js';

const run = promisify(execFile);

const noteFire = (tag: string, when: When): Strategy => ({
  name: tag,
  when,
  then: [{ activity: 'note', args: { tag, firedAt: { $ref: 'event.firedAt' } } }],
});

describe('trigger schedules', () => {
  const bed = agentTestBed();

  it('fires interval, date, cron, OR and AND triggers at the right times', async () => {
    const { rec, client, app, runUntil } = await bed.start('trig');
    // A date 5 s from now, on a whole second.
    const dateMs = Math.ceil((Date.now() + 5000) / 1000) * 1000;
    const date = new Date(dateMs).toISOString().replace('.000Z', 'Z');
    await runUntil(async () => {
      const handle = await client.start({
        app,
        name: 'clock',
        strategies: [
          noteFire('interval', { every: '2s' }),
          noteFire('date', { at: date }),
          noteFire('cron', { cron: '*/3 * * * * * *' }),
          noteFire('either', { or: [{ every: '5s' }, { cron: '*/3 * * * * * *' }] }),
          noteFire('both', { and: [{ every: '2s' }, { cron: '*/3 * * * * * *' }] }),
        ],
      });
      // Until OR has fired for each member alone too: a short run can see only times on both grids
      // (:00, :15, :30, :45), and a loaded machine can start the OR schedule a few seconds late.
      const eitherAlone = (ms: number, ofFive: boolean) =>
        ofFive ? ms % 5000 === 0 && new Date(ms).getUTCSeconds() % 3 !== 0 : ms % 5000 !== 0;
      const eitherTimes = () => rec.noted('either').map((c) => Date.parse((c.args as { firedAt: string }).firedAt));
      await eventually(
        () =>
          rec.noted('both').length >= 2 &&
          Date.now() > dateMs + 2000 &&
          eitherTimes().some((ms) => eitherAlone(ms, true)) &&
          eitherTimes().some((ms) => eitherAlone(ms, false))
            ? true
            : undefined,
        'two AND fires, the date, and an OR fire from each member alone',
        60_000,
      );
      await sleep(1000);
      await handle.stop('test done');
    });
    // sorted: two trigger workflows of one schedule may signal out of order on a loaded machine
    const firesOf = (tag: string) =>
      rec
        .noted(tag)
        .map((c) => Date.parse((c.args as { firedAt: string }).firedAt))
        .sort((a, b) => a - b);
    const sec = (ms: number) => new Date(ms).getUTCSeconds();

    const interval = firesOf('interval');
    expect(interval.length).toBeGreaterThanOrEqual(4);
    for (const ms of interval) expect(ms % 2000).toBe(0);
    // consecutive fires are exactly one interval apart: no fire missed
    for (let i = 1; i < interval.length; i++) expect((interval[i] as number) - (interval[i - 1] as number)).toBe(2000);

    expect(firesOf('date')).toEqual([dateMs]);

    const cron = firesOf('cron');
    expect(cron.length).toBeGreaterThanOrEqual(3);
    for (const ms of cron) expect(sec(ms) % 3).toBe(0);

    // OR = union of both members' times; both members contributed
    const either = firesOf('either');
    for (const ms of either) expect(ms % 5000 === 0 || sec(ms) % 3 === 0).toBe(true);
    expect(either.some((ms) => ms % 5000 === 0 && sec(ms) % 3 !== 0)).toBe(true);
    expect(either.some((ms) => ms % 5000 !== 0 && sec(ms) % 3 === 0)).toBe(true);

    // AND = intersection: only times on both the 2 s grid and the */3 s cron, i.e. every 6 s
    const both = firesOf('both');
    expect(both.length).toBeGreaterThanOrEqual(2);
    for (const ms of both) expect(sec(ms) % 6).toBe(0);
    // every interval fire that is also a cron time produced an AND fire (none lost), within the AND run's span
    const first = both[0] as number;
    const bound = Math.min(both[both.length - 1] as number, interval[interval.length - 1] as number);
    expect(interval.filter((ms) => ms >= first && ms <= bound && sec(ms) % 3 === 0)).toEqual(
      both.filter((ms) => ms <= bound),
    );
  });

  it('lets an operator pause, trigger now and backfill a strategy with `temporal schedule`', async () => {
    const { t, rec, client, app, runUntil } = await bed.start('ops');
    const scheduleId = triggerScheduleId(app, 'ops', 'slow');
    const cli = (...args: string[]) =>
      run(binaryPath('temporal'), ['schedule', ...args, '--address', t.address, '--namespace', t.namespace], {
        timeout: 20_000,
      });
    await runUntil(async () => {
      // An hourly AND trigger: it will not fire by itself during the test.
      const handle = await client.start({
        app,
        name: 'ops',
        strategies: [
          noteFire('slow', { and: [{ every: '1h' }, { cron: '0 0 * * *' }] }),
          noteFire('hourly', { every: '1h' }),
        ],
      });
      await eventually(
        async () => ((await handle.state()).scheduleIds.includes(scheduleId) ? true : undefined),
        'the schedule',
      );

      await cli('trigger', '--schedule-id', scheduleId);
      await eventually(
        () => (rec.noted('slow').length === 1 ? true : undefined),
        'the manual trigger to reach the agent',
      );

      await cli('toggle', '--schedule-id', scheduleId, '--pause', '--reason', 'maintenance');
      const { stdout } = await cli('describe', '--schedule-id', scheduleId, '--output', 'json');
      expect(JSON.parse(stdout).schedule.state.paused).toBe(true);
      await cli('toggle', '--schedule-id', scheduleId, '--unpause', '--reason', 'done');

      // Backfill the last 3 hours: the hourly driver times pass the AND gate only at 00:00 UTC,
      // so count what the intersection says should fire and expect exactly that.
      const end = new Date(Math.floor(Date.now() / 1000) * 1000);
      const start = new Date(end.getTime() - 3 * 3_600_000);
      const expected = [1, 2, 3]
        .map((h) => Math.floor(end.getTime() / 3_600_000) * 3_600_000 - (h - 1) * 3_600_000)
        .filter((ms) => ms >= start.getTime() && new Date(ms).getUTCHours() === 0).length;
      const backfill = (id: string) =>
        cli(
          'backfill',
          '--schedule-id',
          id,
          '--start-time',
          start.toISOString(),
          '--end-time',
          end.toISOString(),
          '--overlap-policy',
          'AllowAll',
        );
      await backfill(scheduleId);
      // The plain hourly strategy backfilled over the same 3 hours fires at the 3 whole hours inside.
      await backfill(triggerScheduleId(app, 'ops', 'hourly'));
      await eventually(() => (rec.noted('hourly').length === 3 ? true : undefined), 'three backfilled hourly fires');
      const hourly = rec
        .noted('hourly')
        .map((c) => Date.parse((c.args as { firedAt: string }).firedAt))
        .sort();
      expect(hourly.every((ms) => ms % 3_600_000 === 0 && ms > start.getTime() && ms <= end.getTime())).toBe(true);
      await sleep(2000);
      expect(rec.noted('slow')).toHaveLength(1 + expected);
      expect(rec.noted('hourly')).toHaveLength(3);
      await handle.stop('test done');
    });
  });
});

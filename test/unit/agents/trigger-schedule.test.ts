import { describe, expect, it } from '@jest/globals';
import { andVerdict, dateAsCron, gateAccepts, planTrigger } from '../../../src/agents/trigger-schedule.js';
import { cronMatches, parseCron } from '../../../src/agents/cron.js';

describe('triggers as schedules', () => {
  it('maps Table III triggers and hybrids', () => {
    expect(planTrigger({ every: '10s', offset: '2s' })).toEqual({
      intervals: [{ everyMs: 10_000, offsetMs: 2000 }],
      cronExpressions: [],
    });
    expect(planTrigger({ at: '2026-03-04T05:06:07Z' })).toEqual({
      intervals: [],
      cronExpressions: ['7 6 5 4 3 * 2026'],
    });
    expect(planTrigger({ or: [{ every: '1m' }, { cron: '0 9 * * 1' }] })).toEqual({
      intervals: [{ everyMs: 60_000, offsetMs: 0 }],
      cronExpressions: ['0 9 * * 1'],
    });
    expect(
      planTrigger({ and: [{ every: '10m' }, { cron: '* 9-17 * * 1-5' }, { at: '2026-01-01T00:00:00Z' }] }),
    ).toEqual({
      intervals: [{ everyMs: 600_000, offsetMs: 0 }],
      cronExpressions: [],
      startAt: '2026-01-01T00:00:00.000Z',
      and: {
        driver: { every: 600_000, offset: 0 },
        gates: [{ cron: '* 9-17 * * 1-5' }, { notBefore: Date.parse('2026-01-01T00:00:00Z') }],
      },
    });
    expect(dateAsCron('2030-12-31T23:59:58Z')).toBe('58 59 23 31 12 * 2030');
  });

  it('decides AND at fire time: intersection, dates as "from", manual triggers pass', () => {
    const plan = planTrigger({
      and: [{ every: '10m' }, { cron: '* 9-17 * * 1-5' }, { at: '2026-01-05T00:00:00Z' }],
    }).and!;
    expect(andVerdict(plan, Date.parse('2026-01-05T09:10:00Z')).fire).toBe(true); // Monday 09:10
    expect(andVerdict(plan, Date.parse('2026-01-05T18:00:00Z')).fire).toBe(false); // after hours
    expect(andVerdict(plan, Date.parse('2026-01-04T10:00:00Z')).fire).toBe(false); // Sunday (and before the date)
    expect(andVerdict(plan, Date.parse('2026-01-05T20:03:17Z'))).toEqual({
      fire: true,
      reason: 'manual trigger (off the driver grid): AND gates bypassed',
    });
    expect(gateAccepts({ every: 2000, offset: 0 }, 1_000_000_000_000)).toBe(true);
    expect(gateAccepts({ every: 3000, offset: 1000 }, 1_000_000_001_000)).toBe(false);
  });

  it('parses and matches 5-, 6- and 7-field cron expressions', () => {
    const t = Date.parse('2026-02-03T04:05:06Z'); // a Tuesday
    expect(cronMatches(parseCron('6 5 4 3 2 2 2026'), t)).toBe(true);
    expect(cronMatches(parseCron('*/2 * * * * * *'), t)).toBe(true);
    expect(cronMatches(parseCron('5 4 * * 2'), t)).toBe(false); // 5 fields: second 0
    expect(cronMatches(parseCron('5 4 * * 2'), Date.parse('2026-02-03T04:05:00Z'))).toBe(true);
    expect(cronMatches(parseCron('@hourly'), Date.parse('2026-02-03T04:00:00Z'))).toBe(true);
    expect(cronMatches(parseCron('0 0 * * 7'), Date.parse('2026-02-01T00:00:00Z'))).toBe(true); // 7 = Sunday
    expect(() => parseCron('* * *')).toThrow('expected 5, 6 or 7 fields, got 3');
  });
});

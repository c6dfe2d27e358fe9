/**
 * `npm run loadgen` argument parsing: good command lines become the workflow's input; every bad
 * one is refused before anything runs, with an error that names the flag the user typed.
 */
import { describe, expect, it } from '@jest/globals';
import { parseLoadgenArgs, UsageError } from '../../../src/cli/loadgen.js';

const http = ['--url', 'http://127.0.0.1:8080', '--model', 'mnist-classifier'];

describe('loadgen CLI arguments', () => {
  it('maps flags to LoadGen settings, the SUT and the QSL', () => {
    const cmd = parseLoadgenArgs([
      ...['--scenario', 'server', '--qps', '500', '--duration', '60', '--latency-ms', '10', '--seed', '7'],
      ...['--users', '100', '--max-async', '0', '--run', 'fig9', ...http],
    ]);
    expect(cmd.run).toBe('fig9');
    expect(cmd.workflow).toBe(false);
    expect(cmd.input.settings).toMatchObject({
      scenario: 'Server',
      mode: 'PerformanceOnly',
      targetQps: 500,
      minDurationMs: 60_000,
      targetLatencyNs: 10e6,
      users: 100,
      scheduleRngSeed: 7,
      sampleIndexRngSeed: 7,
      qslRngSeed: 7,
    });
    expect(cmd.input.sut).toEqual({
      kind: 'http',
      url: 'http://127.0.0.1:8080',
      model: 'mnist-classifier',
      version: undefined,
    });
    const offline = parseLoadgenArgs(['--scenario', 'Offline', '--qps', '2000', '--sut', 'tfjs', '--model', 'm']);
    expect(offline.input.settings).toMatchObject({ scenario: 'Offline', expectedQps: 2000, targetQps: undefined });
    expect(offline.input.sut).toEqual({ kind: 'tfjs', model: 'm', version: undefined });
    expect(parseLoadgenArgs(['--sut', 'fixed-delay', '--delay-ms', '0', '--mode', 'accuracy']).input).toMatchObject({
      settings: { mode: 'AccuracyOnly' },
      sut: { kind: 'fixed-delay', delayMs: 0 },
    });
    expect(parseLoadgenArgs(['--sut', 'null', '--qsl', 'images/mnist-c']).input.qsl).toEqual({
      kind: 'image-set',
      key: 'images/mnist-c',
      performanceSampleCount: undefined,
    });
    expect(() => parseLoadgenArgs(['--help'])).toThrow(UsageError);
  });

  // Each row: a name, the arguments, and what the error must say (the flag, and why).
  const bad: [string, string[], RegExp][] = [
    ['unknown flag', ['--qsp', '500', ...http], /--qsp/],
    ['flag without its value', [...http, '--qps'], /--qps/],
    ['stray positional argument', ['server', ...http], /server/],
    [
      'unknown scenario',
      ['--scenario', 'batch', ...http],
      /--scenario must be server, offline, singlestream or multistream, got batch/,
    ],
    ['unknown mode', ['--mode', 'fast', ...http], /--mode must be performance or accuracy, got fast/],
    ['QPS not a number', ['--qps', 'fast', ...http], /--qps must be a number, got "fast"/],
    ['QPS empty', ['--qps', '', ...http], /--qps must be a number, got ""/],
    ['QPS zero', ['--qps', '0', ...http], /--qps must be > 0, got "0"/],
    ['QPS negative', ['--qps=-5', ...http], /--qps must be > 0, got "-5"/],
    ['negative value after a space (read as a flag)', ['--qps', '-5', ...http], /--qps/],
    ['QPS infinite', ['--qps', 'Infinity', ...http], /--qps must be a number/],
    ['duration zero', ['--duration', '0', ...http], /--duration must be > 0/],
    ['duration not a number', ['--duration', '10s', ...http], /--duration must be a number, got "10s"/],
    ['latency negative', ['--latency-ms=-1', ...http], /--latency-ms must be > 0/],
    ['percentile 1', ['--percentile', '1', ...http], /--percentile must be < 1/],
    [
      'percentile 99 (a percent, not a fraction)',
      ['--percentile', '99', ...http],
      /--percentile must be < 1, got "99"/,
    ],
    ['min queries zero', ['--min-queries', '0', ...http], /--min-queries must be >= 1/],
    ['min queries fractional', ['--min-queries', '10.5', ...http], /--min-queries must be a whole number/],
    ['max queries negative', ['--max-queries=-1', ...http], /--max-queries must be >= 0/],
    ['max async fractional', ['--max-async', '1.5', ...http], /--max-async must be a whole number/],
    ['users zero', ['--users', '0', ...http], /--users must be >= 1/],
    ['seed negative', ['--seed=-1', ...http], /--seed must be >= 0/],
    ['seed beyond 32 bits', ['--seed', String(2 ** 32), ...http], /--seed must be < 4294967296/],
    [
      'performance sample count fractional',
      ['--performance-sample-count', '1.5', ...http],
      /--performance-sample-count must be a whole number/,
    ],
    ['segment seconds zero', ['--segment-seconds', '0', ...http], /--segment-seconds must be > 0/],
    ['http SUT without a model', ['--url', 'http://127.0.0.1:8080'], /--url and --model are required/],
    [
      'URL without a scheme',
      ['--url', '127.0.0.1:8080', '--model', 'm'],
      /--url must be an http\(s\) URL.*"127.0.0.1:8080"/,
    ],
    ['URL of another protocol', ['--url', 'grpc://127.0.0.1:8081', '--model', 'm'], /--url must be an http\(s\) URL/],
    ['no SUT at all', ['--qps', '5'], /give --url .* or --sut tfjs\|fixed-delay\|null/],
    ['unknown SUT', ['--sut', 'onnx'], /--sut tfjs\|fixed-delay\|null \(got "onnx"\)/],
    ['tfjs SUT without a model', ['--sut', 'tfjs'], /--model is required for the tfjs SUT/],
    [
      'tfjs model version not a number',
      ['--sut', 'tfjs', '--model', 'm', '--model-version', 'latest'],
      /--model-version must be a number/,
    ],
    ['fixed-delay delay negative', ['--sut', 'fixed-delay', '--delay-ms=-2'], /--delay-ms must be >= 0/],
    ['fixed-delay concurrency zero', ['--sut', 'fixed-delay', '--concurrency', '0'], /--concurrency must be >= 1/],
    ['run name with a slash', ['--run', 'a/b', ...http], /--run must be lower-case letters/],
    ['run name upper-case', ['--run', 'Fig9', ...http], /--run must be lower-case letters/],
    [
      'max queries below min queries',
      ['--min-queries', '500', '--max-queries', '100', ...http],
      /--max-queries|--min-queries/,
    ],
  ];

  it.each(bad)('refuses %s, naming the flag', (_name, argv, message) => {
    expect(() => parseLoadgenArgs(argv)).toThrow(message);
  });
});

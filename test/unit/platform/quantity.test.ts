import { describe, expect, it } from '@jest/globals';
import {
  parseCpuQuantity,
  parseQuantity,
  quantityValue,
} from '../../../src/platform/kubernetes/control-plane/quantity.js';

// The Kubernetes quantity grammar (common-definitions/quantity): a signed number with an optional
// binary suffix, decimal suffix or decimal exponent.
describe('quantityValue (the Kubernetes quantity grammar)', () => {
  it.each([
    ['8', 8],
    ['6667m', 6.667],
    ['100m', 0.1],
    ['250m', 0.25],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+2', 2],
    ['-2', -2],
    ['-250m', -0.25],
    ['123456n', 0.000123456],
    ['1500u', 0.0015],
    ['1k', 1000],
    ['1M', 1e6],
    ['1G', 1e9],
    ['2T', 2e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['512Mi', 512 * 1024 ** 2],
    ['1Ti', 1024 ** 4],
    ['1Pi', 1024 ** 5],
    ['1Ei', 1024 ** 6],
    ['1e3', 1000],
    ['1E3', 1000],
    ['12e-3', 0.012],
    ['1.5e+2', 150],
    [' 2 ', 2],
  ])('%j → %d', (text, value) => {
    expect(quantityValue(text)).toBeCloseTo(value, 12);
  });

  it.each([
    ['', 'empty'],
    ['m', 'no number'],
    ['1 core', 'words'],
    ['1.2.3', 'two points'],
    ['.', 'a point alone'],
    ['1KB', 'not a suffix'],
    ['1ki', 'lower-case binary suffix'],
    ['1K', 'K is not decimalSI (k is)'],
    ['1e', 'exponent without digits'],
    ['1e1.5', 'fractional exponent'],
    ['1mi', 'no such suffix'],
    ['--1', 'two signs'],
    ['1 Gi', 'space before the suffix'],
    ['0x10', 'hexadecimal'],
    ['Infinity', 'not a number'],
  ])('refuses %j (%s) naming the value and what it is', (text) => {
    expect(() => quantityValue(text, 'metric target')).toThrow(
      new RegExp(
        `^metric target: ${JSON.stringify(text).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a Kubernetes quantity`,
      ),
    );
  });

  it('refuses a quantity too large for a number', () => {
    expect(() => quantityValue('1e400')).toThrow(/out of range/);
  });
});

describe('parseCpuQuantity (cores)', () => {
  it('reads milli-cores, plain decimals and nanocores', () => {
    expect([
      parseCpuQuantity('100m'),
      parseCpuQuantity('0.5'),
      parseCpuQuantity('2'),
      parseCpuQuantity('1500000000n'),
    ]).toEqual([0.1, 0.5, 2, 1.5]);
  });

  it('refuses a negative or malformed CPU quantity, naming the field', () => {
    expect(() => parseCpuQuantity('-100m', 'cpuRequest')).toThrow(/^cpuRequest: "-100m" is negative/);
    expect(() => parseCpuQuantity('1 core', 'cpuRequest')).toThrow(
      /^cpuRequest: "1 core" is not a Kubernetes quantity/,
    );
    expect(() => parseCpuQuantity('lots')).toThrow(/^CPU quantity: "lots"/);
  });
});

describe('parseQuantity (memory, whole bytes)', () => {
  it('reads binary and decimal sizes as before', () => {
    expect([parseQuantity('3Gi'), parseQuantity('512Mi'), parseQuantity('1G'), parseQuantity('1500000000')]).toEqual([
      3 * 1024 ** 3,
      512 * 1024 ** 2,
      1e9,
      1_500_000_000,
    ]);
    expect(parseQuantity('1.5Ki')).toBe(1536);
    expect(parseQuantity('2e9')).toBe(2e9);
  });

  it.each(['1 GB', '', 'lots', '500m', '1e-3', '-1Gi', '1e400'])('refuses %j as a memory size', (text) => {
    expect(() => parseQuantity(text)).toThrow(`not a memory quantity: ${JSON.stringify(text)} (e.g. 3Gi, 512Mi)`);
  });
});

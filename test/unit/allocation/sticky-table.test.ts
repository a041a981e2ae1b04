import { describe, expect, it } from 'vitest';
import { StickyTable } from '../../../src/allocation/index.js';

describe('StickyTable', () => {
  it('remembers each unit arm and overwrites on set', () => {
    const t = new StickyTable(10_000, 'exp');
    for (let i = 0; i < 10_000; i++) expect(t.set(`user-${i}`, i % 3)).toBe(true);
    expect(t.size).toBe(10_000);
    for (let i = 0; i < 10_000; i++) expect(t.get(`user-${i}`)).toBe(i % 3);
    expect(t.get('someone-else')).toBe(-1);
    t.set('user-1', 2);
    expect(t.get('user-1')).toBe(2);
    expect(t.size).toBe(10_000);
  });

  it('stores nothing more when full, and keeps what it has', () => {
    const t = new StickyTable(1000, 'exp');
    for (let i = 0; i < 1000; i++) t.set(`u${i}`, 1);
    expect(t.isFull).toBe(true);
    expect(t.set('late', 0)).toBe(false);
    expect(t.get('late')).toBe(-1);
    expect(t.set('u5', 0)).toBe(true);
    expect(t.get('u5')).toBe(0);
  });

  it('counts a conversion once per unit and keeps the arm', () => {
    const t = new StickyTable(1000, 'exp');
    t.set('a', 4);
    expect(t.markConverted('a')).toBe(true);
    expect(t.markConverted('a')).toBe(false);
    expect(t.markConverted('unknown')).toBe(false);
    expect(t.get('a')).toBe(4);
    t.set('a', 1);
    expect(t.markConverted('a')).toBe(false);
  });

  it('grows with its units, to 18.9 MB of typed arrays for 1M units', () => {
    const t = new StickyTable(1_000_000, 'exp');
    expect(t.bytes).toBe(4096 * 9);
    for (let i = 0; i < 1_000_000; i++) t.set(`member-${i}`, i % 5);
    expect(t.bytes).toBe(2 ** 21 * 9);
    expect(t.size).toBe(1_000_000);
    let wrong = 0;
    for (let i = 0; i < 1_000_000; i += 7) if (t.get(`member-${i}`) !== i % 5) wrong++;
    expect(wrong).toBe(0);
  });
});

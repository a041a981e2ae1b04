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

  it('starts at 4,096 slots (fewer for a small capacity) and doubles when a unit would fill more than half', () => {
    expect(new StickyTable(5, 'exp').bytes).toBe(16 * 9);
    expect(new StickyTable(8, 'exp').bytes).toBe(16 * 9);
    expect(new StickyTable(9, 'exp').bytes).toBe(32 * 9);
    expect(new StickyTable(1500, 'exp').bytes).toBe(4096 * 9);
    const t = new StickyTable(3000, 'exp');
    for (let i = 0; i < 2048; i++) t.set(`u${i}`, 1);
    expect(t.bytes).toBe(4096 * 9);
    t.set('u2048', 2);
    expect(t.bytes).toBe(8192 * 9);
    expect(t.size).toBe(2049);
    // 8,192 slots hold the 3,000 units it may take: no more growth.
    for (let i = 2049; i < 3000; i++) t.set(`u${i}`, 0);
    expect(t.bytes).toBe(8192 * 9);
    expect(t.isFull).toBe(true);
  });

  it('is full at exactly its capacity', () => {
    const t = new StickyTable(3, 'exp');
    t.set('a', 0);
    t.set('b', 1);
    expect(t.isFull).toBe(false);
    expect(t.set('c', 2)).toBe(true);
    expect(t.isFull).toBe(true);
    expect(t.set('d', 0)).toBe(false);
    expect([t.get('a'), t.get('b'), t.get('c'), t.get('d'), t.size]).toEqual([0, 1, 2, -1, 3]);
  });

  it('keeps arms and conversions through growth, arm codes 0 to 126', () => {
    const t = new StickyTable(20_000, 'exp');
    for (let i = 0; i < 10_000; i++) {
      t.set(`v${i}`, i % 127);
      if (i % 3 === 0) t.markConverted(`v${i}`);
    }
    expect(t.bytes).toBe(32_768 * 9);
    for (let i = 0; i < 10_000; i++) {
      expect(t.get(`v${i}`)).toBe(i % 127);
      expect(t.markConverted(`v${i}`)).toBe(i % 3 !== 0);
    }
  });

  it('clear forgets every unit and starts small again', () => {
    const t = new StickyTable(10_000, 'exp');
    for (let i = 0; i < 5000; i++) t.set(`w${i}`, 3);
    t.markConverted('w1');
    expect(t.bytes).toBe(16_384 * 9);
    t.clear();
    expect([t.size, t.isFull, t.bytes]).toEqual([0, false, 4096 * 9]);
    expect(t.get('w1')).toBe(-1);
    expect(t.markConverted('w1')).toBe(false);
    for (let i = 0; i < 5000; i++) expect(t.set(`w${i}`, i % 2)).toBe(true);
    expect(t.get('w1')).toBe(1);
    expect(t.markConverted('w1')).toBe(true);
    expect(t.size).toBe(5000);
    const small = new StickyTable(5, 'exp');
    small.set('x', 1);
    small.clear();
    expect(small.bytes).toBe(16 * 9);
  });
});

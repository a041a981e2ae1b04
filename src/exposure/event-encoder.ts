/**
 * One queued event as one JSON line of UTF-8 bytes, with the parts many events share encoded once.
 *
 * The envelope's service and instance, and the allocation part of an exposure per
 * descriptor, step, percent and reason, are pre-encoded; strings that come from callers
 * (unit ids, attributes, event names) are escaped as JSON.stringify escapes them.
 */
import { createHmac } from 'node:crypto';
import { IsoWriter, LineWriter, utf8Bytes } from './encoder.js';
import { writeUlid } from './ids.js';
import { ATTRIBUTES, TRACK, type EventQueue, type ExposureDescriptor } from './queue.js';
import { EVENT_SCHEMA, EXPOSURE_SCHEMA } from './schema.js';

export interface EventEncoderOptions {
  /** The provider named in every exposure. */
  provider: string;
  service?: string;
  instance?: string;
  /** HMAC-SHA256 key for unit ids; unset logs unit ids as they are. */
  hashUnitsKey?: string;
}

const EXPOSURE_HEAD = utf8Bytes(`{"schema":"${EXPOSURE_SCHEMA}","id":"`);
const EVENT_HEAD = utf8Bytes(`{"schema":"${EVENT_SCHEMA}","id":"`);
const TS_FIELD = utf8Bytes('","ts":"');
const UNIT_FIELD = utf8Bytes('","unit":');

/** An exposure's encoded tail for one allocation state: `open` ends before the attributes, `closed` has none and ends the line. */
interface Fragment {
  readonly step: number;
  readonly percent: number;
  readonly reason: string;
  readonly open: Buffer;
  readonly closed: Buffer;
}

export class EventEncoder {
  /** Where lines are written: the pipeline points it at a journal slab (see LineWriter.use). */
  readonly writer = new LineWriter();
  private readonly iso = new IsoWriter();
  /** Encoded JSON that is the same for every exposure of one descriptor, step, percent and reason. */
  private readonly fragments = new Map<ExposureDescriptor, { last: Fragment; all: Map<string, Fragment> }>();
  private readonly envelope: Buffer;

  constructor(private readonly options: EventEncoderOptions) {
    const { service, instance } = options;
    this.envelope = utf8Bytes(
      `${service === undefined ? '' : `,"service":${JSON.stringify(service)}`}${instance === undefined ? '' : `,"instance":${JSON.stringify(instance)}`}`,
    );
  }

  /** Writes slot `i` of the queue as one newline-terminated line; throws (having written part of it) when it cannot be encoded. */
  encode(queue: EventQueue, i: number): void {
    const writer = this.writer;
    const ms = queue.ts[i]!;
    if (!Number.isFinite(ms)) throw new Error(`its time is not a finite number (the clock gave ${ms})`);
    const state = queue.states[i]!;
    const descriptor = state & TRACK ? undefined : queue.descriptors[i];
    writer.bytes(descriptor === undefined ? EVENT_HEAD : EXPOSURE_HEAD);
    writer.ensure(26);
    writeUlid(writer.buf, writer.pos, ms);
    writer.pos += 26;
    writer.bytes(TS_FIELD);
    this.iso.write(writer, ms);
    writer.bytes(UNIT_FIELD);
    const unit = queue.units[i]!;
    const key = this.options.hashUnitsKey;
    writer.json(key ? createHmac('sha256', key).update(unit).digest('hex') : unit);
    if (descriptor !== undefined) {
      const fragment = this.fragment(descriptor, queue.steps[i]!, queue.percents[i]!, queue.reasons[i]!);
      const attributes = state & ATTRIBUTES ? queue.attributes[i] : undefined;
      if (attributes === undefined) writer.bytes(fragment.closed);
      else {
        writer.bytes(fragment.open);
        writer.text(`,"attributes":${JSON.stringify(attributes)}}\n`);
      }
      return;
    }
    writer.bytes(this.envelope);
    const track = queue.tracks[i]!;
    // properties were serialized in the caller's call; spliced in as they are.
    writer.text(
      `,"event":${JSON.stringify(track.event)}${track.value === undefined ? '' : `,"value":${JSON.stringify(track.value)}`},"properties":${track.properties}}\n`,
    );
  }

  /**
   * The rest of an exposure's line after the unit: the envelope and the allocation part,
   * encoded once per descriptor and allocation state. Each descriptor remembers the state
   * it was last encoded for, which is the state of nearly every exposure that follows.
   */
  private fragment(descriptor: ExposureDescriptor, step: number, percent: number, reason: string): Fragment {
    let cache = this.fragments.get(descriptor);
    if (
      cache !== undefined &&
      cache.last.step === step &&
      cache.last.percent === percent &&
      cache.last.reason === reason
    )
      return cache.last;
    if (cache === undefined) {
      if (this.fragments.size > 10_000) this.fragments.clear();
      cache = { last: undefined as unknown as Fragment, all: new Map() };
      this.fragments.set(descriptor, cache);
    }
    const key = `${step}\u0000${percent}\u0000${reason}`;
    let fragment = cache.all.get(key);
    if (fragment === undefined) {
      const json = JSON.stringify({
        experiment: descriptor.experiment,
        flag: descriptor.flag,
        variant: descriptor.variant,
        allocation: { mode: descriptor.mode, version: descriptor.version, step, percent },
        reason,
        provider: this.options.provider,
      });
      const open = `${this.envelope.toString('utf8')},${json.slice(1, -1)}`;
      fragment = { step, percent, reason, open: utf8Bytes(open), closed: utf8Bytes(`${open},"attributes":{}}\n`) };
      if (cache.all.size > 1_000) cache.all.clear();
      cache.all.set(key, fragment);
    }
    cache.last = fragment;
    return fragment;
  }
}

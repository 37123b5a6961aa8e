/**
 * Topics, their payloads, and the publish/subscribe transport behind GraphQL subscriptions.
 *
 * Services publish; resolvers subscribe with `topics` + `topicId`. Payloads are JSON-safe
 * (they cross processes through PostgreSQL NOTIFY when scaled out), so dates travel as ISO strings.
 * Delivery keeps each publisher's order: every subscriber sees a job's events in sequence.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { PubSub } from 'type-graphql';
import { log } from '../common/log.js';

export enum Topic {
  /** Status, progress, log lines and metrics of one job; topicId = job id. */
  JobEvent = 'JOB_EVENT',
  /** Tokens of generated notes as they are sampled; topicId = job id. */
  GeneratedToken = 'GENERATED_TOKEN',
  /** Step transitions and status of one experiment; topicId = experiment id. */
  ExperimentEvent = 'EXPERIMENT_EVENT',
  /** Cell transitions of one ablation, and its end; topicId = ablation id. */
  AblationEvent = 'ABLATION_EVENT',
}

/** A cell (experiment) of an ablation ended (`experimentId` set), or the ablation did (null). */
export interface AblationEventPayload {
  ablationId: string;
  experimentId: string | null;
  /** The cell's axis values, by field. */
  cell: Record<string, number | string | boolean | null> | null;
  seed: number | null;
  status: string;
  cellsDone: number;
  cells: number;
  at: string;
}

export interface JobEventPayload {
  jobId: string;
  /** 1, 2, 3… per job, so clients can detect gaps and order. */
  seq: number;
  kind: 'STATUS' | 'PROGRESS' | 'LOG' | 'METRIC';
  status: string;
  progress: number;
  etaSeconds: number | null;
  message: string | null;
  metricName: string | null;
  metricValue: number | null;
  metricStep: number | null;
  at: string;
}

export interface GeneratedTokenPayload {
  jobId: string;
  /** Which synthetic document (prompt × sample) this token belongs to. */
  sequenceIndex: number;
  text: string;
  done: boolean;
}

/**
 * What experimentEvents streams: the experiment's own transitions (EXPERIMENT, STEP) as published on
 * Topic.ExperimentEvent, and its step jobs' events (PROGRESS, LOG, METRIC, TOKEN) forwarded with the step's name.
 */
export interface ExperimentEventPayload {
  experimentId: string;
  kind: 'EXPERIMENT' | 'STEP' | 'PROGRESS' | 'LOG' | 'METRIC' | 'TOKEN';
  /** The experiment's status (EXPERIMENT) or the step's (every other kind). */
  status: string | null;
  step: string | null;
  stepKind: string | null;
  jobId: string | null;
  reused: boolean | null;
  progress: number | null;
  etaSeconds: number | null;
  message: string | null;
  metricName: string | null;
  metricValue: number | null;
  metricStep: number | null;
  sequenceIndex: number | null;
  text: string | null;
  done: boolean | null;
  at: string;
}

export interface TopicPayloads {
  [Topic.JobEvent]: JobEventPayload;
  [Topic.GeneratedToken]: GeneratedTokenPayload;
  [Topic.ExperimentEvent]: ExperimentEventPayload;
  [Topic.AblationEvent]: AblationEventPayload;
}

/** Moves a (channel, JSON payload) pair to every process's subscribers. */
interface Transport {
  send(channel: string, payload: unknown): void;
  onMessage(handler: (channel: string, payload: unknown) => void): void;
  close(): Promise<void>;
}

class InProcessTransport implements Transport {
  private handler: (channel: string, payload: unknown) => void = () => {};
  send(channel: string, payload: unknown) {
    this.handler(channel, payload);
  }
  onMessage(handler: (channel: string, payload: unknown) => void) {
    this.handler = handler;
  }
  async close() {}
}

const PG_CHANNEL = 'deid_events';
// NOTIFY payloads are capped at 8000 bytes by PostgreSQL.
const PG_MAX_PAYLOAD_BYTES = 7900;

/** PostgreSQL LISTEN/NOTIFY: events published in a worker process reach clients of every API instance. */
class PostgresTransport implements Transport {
  private handler: (channel: string, payload: unknown) => void = () => {};
  private listener: pg.PoolClient | null = null;
  private sendQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly pool: pg.Pool) {}

  async start() {
    this.listener = await this.pool.connect();
    this.listener.on('notification', (message) => {
      if (message.channel !== PG_CHANNEL || !message.payload) return;
      const { c, p } = JSON.parse(message.payload) as { c: string; p: unknown };
      this.handler(c, p);
    });
    await this.listener.query(`LISTEN ${PG_CHANNEL}`);
  }

  send(channel: string, payload: unknown) {
    const text = JSON.stringify({ c: channel, p: payload });
    if (Buffer.byteLength(text) > PG_MAX_PAYLOAD_BYTES) {
      log('warn', 'pubsub.payload_too_large', { channel, bytes: Buffer.byteLength(text) });
      return;
    }
    // Chained so that one publisher's events are notified in the order they were published.
    this.sendQueue = this.sendQueue
      .then(() => this.pool.query('SELECT pg_notify($1, $2)', [PG_CHANNEL, text]))
      .catch((error) => log('error', 'pubsub.notify_failed', { channel, error: (error as Error).message }));
  }

  onMessage(handler: (channel: string, payload: unknown) => void) {
    this.handler = handler;
  }

  async close() {
    await this.sendQueue;
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${PG_CHANNEL}`).catch(() => {});
      this.listener.release();
    }
  }
}

const channelOf = (topic: string, id?: unknown) => (id === undefined || id === null ? topic : `${topic}:${String(id)}`);

export class EventBus implements PubSub {
  private readonly local = new EventEmitter();

  private constructor(private readonly transport: Transport) {
    this.local.setMaxListeners(0);
    transport.onMessage((channel, payload) => this.local.emit(channel, payload));
  }

  static inProcess(): EventBus {
    return new EventBus(new InProcessTransport());
  }

  static async postgres(pool: pg.Pool): Promise<EventBus> {
    const transport = new PostgresTransport(pool);
    await transport.start();
    return new EventBus(transport);
  }

  /** Typed publish for services. */
  emit<T extends Topic>(topic: T, id: string, payload: TopicPayloads[T]) {
    this.transport.send(channelOf(topic, id), payload);
  }

  // type-graphql's PubSub interface.
  publish(routingKey: string, ...args: unknown[]) {
    const [idOrPayload, maybePayload] = args;
    if (args.length >= 2) this.transport.send(channelOf(routingKey, idOrPayload), maybePayload);
    else this.transport.send(channelOf(routingKey), idOrPayload);
  }

  subscribe(routingKey: string, dynamicId?: unknown): AsyncIterable<unknown> {
    return this.iterate(channelOf(routingKey, dynamicId));
  }

  /** An async iterator that buffers events until the consumer reads them; unsubscribes on return(). */
  private iterate(channel: string): AsyncIterableIterator<unknown> {
    const buffered: unknown[] = [];
    let wake: ((result: IteratorResult<unknown>) => void) | null = null;
    let done = false;
    const listener = (payload: unknown) => {
      if (wake) {
        const resolve = wake;
        wake = null;
        resolve({ value: payload, done: false });
      } else buffered.push(payload);
    };
    this.local.on(channel, listener);
    const finish = () => {
      done = true;
      this.local.off(channel, listener);
      buffered.length = 0;
      if (wake) wake({ value: undefined, done: true });
      wake = null;
      return Promise.resolve({ value: undefined, done: true } as IteratorResult<unknown>);
    };
    return {
      next: () => {
        if (buffered.length) return Promise.resolve({ value: buffered.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (wake = resolve));
      },
      return: finish,
      throw: (error?: unknown) => {
        void finish();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  async close() {
    await this.transport.close();
    this.local.removeAllListeners();
  }
}

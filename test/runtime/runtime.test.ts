import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, get as httpGet, type IncomingMessage } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls, createServer as createTlsServer, TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { GCProfiler } from 'node:v8';
import { checkSocketReads, checkTlsReads, COLLECT_EVERY, noteBytesRead, oneBufferAgent, readsInto, retainFreedMemory, runtimeTricks, sealBuffersWhereTheyLie, type Verdict, YOUNG_GENERATION_LIMIT } from '../../src/runtime/index.js';
import { checkOnLoopback } from '../../src/runtime/loopback-check.js';
import { CI } from '../helpers/ci.js';
import { makeTempDir, removeTempDir, seededRandom } from '../helpers/disk-images.js';
import { makeCa, makeServerCert } from '../helpers/tls.js';

const execFileAsync = promisify(execFile);

// Each of these fails when a trick silently stops working on the installed Node: the
// fallbacks keep Cairn correct, so nothing else would notice but the benchmark.

const NATIVE_HELPERS = ['disk_io', 'chunk', 'malloc_tuning'];
/** From dist/test/runtime/, where this runs, up to the package root. */
const built = (name: string): boolean => existsSync(new URL(`../../../build/Release/${name}.node`, import.meta.url));
const glibc = Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);
const hugePagesKernel = process.platform === 'linux' && existsSync('/sys/kernel/mm/transparent_hugepage/hpage_pmd_size');

/** The two ends of a loopback TCP connection. */
async function loopbackPair(): Promise<{ client: Socket; peer: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [peer] = await accepted;
  return { client, peer, close: () => (client.destroy(), peer.destroy(), server.close()) };
}

describe('the runtime tricks', () => {
  let tricks: Record<string, Verdict>;
  before(async () => {
    tricks = await runtimeTricks();
  });

  it('are all in the report, each active on this machine or with a reason this platform lacks it', () => {
    assert.deepEqual(Object.keys(tricks).sort(), ['ca-context', 'heap-flags', 'huge-pages', 'malloc-retain', 'minor-gc', ...NATIVE_HELPERS.map((n) => `native:${n}`), 'response-reads', 'socket-reads', 'tls-reads', 'tls-writes', 'young-generation'].sort());
    const lacking = new Set<string>();
    for (const name of NATIVE_HELPERS) if (!built(name) && !CI) lacking.add(`native:${name}`);
    if (!glibc || lacking.has('native:malloc_tuning')) lacking.add('malloc-retain');
    if (!hugePagesKernel || lacking.has('native:malloc_tuning')) lacking.add('huge-pages');
    for (const [name, { active, reason }] of Object.entries(tricks)) {
      assert.equal(typeof reason, 'string');
      if (!lacking.has(name)) assert.ok(active, `${name} did not take effect on Node ${process.version}: ${reason}`);
    }
  });

  it('give a server its own amount of freed memory kept, and the report says which it has', { skip: !glibc || !built('malloc_tuning') }, async () => {
    try {
      assert.ok(retainFreedMemory('server'), 'glibc took the server\'s settings');
      assert.match((await runtimeTricks())['malloc-retain']!.reason, /M_TRIM_THRESHOLD 1 MiB, M_TOP_PAD 0 MiB .*a server's/);
    } finally {
      assert.ok(retainFreedMemory('command'));
    }
    assert.match((await runtimeTricks())['malloc-retain']!.reason, /M_TRIM_THRESHOLD 512 MiB, M_TOP_PAD 4 MiB .*a command's/);
  });

  it('load every native helper that was built', () => {
    for (const name of NATIVE_HELPERS.filter(built)) assert.ok(tricks[`native:${name}`]!.active, `build/Release/${name}.node is there but ${tricks[`native:${name}`]!.reason}`);
  });
});

describe('a check on a loopback connection', () => {
  // A TLS handshake that never ends would otherwise hold up a server's start.
  it('is given up after its time, whatever it waits for, and closes what it opened', async () => {
    const server = createServer();
    let opened: Socket | undefined;
    const verdict = await checkOnLoopback(server, 'stuck', async (port, keep) => {
      opened = connect(port, '127.0.0.1');
      keep(opened);
      await once(opened, 'connect');
      return new Promise<Verdict>(() => undefined);
    });
    assert.equal(verdict.active, false);
    assert.match(verdict.reason, /^stuck: nothing came within \d+ ms$/);
    assert.ok(opened?.destroyed, 'the connection it opened is destroyed');
    assert.equal(server.listening, false, 'the server is closed');
  });

  it('says what went wrong when the check throws', async () => {
    const verdict = await checkOnLoopback(createServer(), 'broken', async () => {
      throw new Error('first line\nsecond line');
    });
    assert.deepEqual(verdict, { active: false, reason: 'broken: first line' });
  });
});

describe('reading a socket into our own buffers', () => {
  let pair: Awaited<ReturnType<typeof loopbackPair>>;
  before(async () => {
    assert.ok((await checkSocketReads()).active, 'the check passed');
    pair = await loopbackPair();
  });
  after(() => pair.close());

  it('hands each read over in the caller\'s own memory, not a copy', async () => {
    // A piece is a view valid until the callback returns: what it said is noted then.
    const pieces: { text: string; buffer: ArrayBufferLike; byteOffset: number }[] = [];
    let arrived: () => void = () => {};
    const memory = Buffer.alloc(512 * 1024);
    // Asked after each read for the next one: only the first goes to the target.
    let target: Buffer | null = memory.subarray(4099);
    const onBytes = (piece: Buffer): void => {
      pieces.push({ text: piece.toString(), buffer: piece.buffer, byteOffset: piece.byteOffset });
      target = null;
      arrived();
    };
    const connection = readsInto(pair.peer, onBytes, { target: () => target });
    assert.notEqual(connection, pair.peer, 'the connection was taken over');
    const exchange = async (text: string): Promise<(typeof pieces)[number]> => {
      const got = new Promise<void>((resolve) => (arrived = resolve));
      pair.client.write(text);
      await got;
      return pieces.at(-1)!;
    };

    const direct = await exchange('into the slot');
    assert.equal(direct.text, 'into the slot');
    assert.ok(direct.buffer === memory.buffer && direct.byteOffset === 4099, 'read into the target given, at its offset');

    const first = await exchange('one');
    const second = await exchange('two');
    assert.deepEqual([first.text, second.text], ['one', 'two']);
    assert.ok(first.buffer !== memory.buffer, 'without a target, into a buffer of readsInto\'s own');
    assert.ok(second.buffer === first.buffer && second.byteOffset === first.byteOffset, 'the same buffer for every read');
  });

  it('keeps a TLS socket, with its handle: taking the handle over would abort the process at its first read', () => {
    const secure = new TLSSocket(pair.client);
    try {
      assert.equal(readsInto(secure, () => {}), secure);
    } finally {
      secure.destroy();
    }
  });

  it('reads a stream that is not a socket through its data events', async () => {
    const stream = new PassThrough();
    const pieces: Buffer[] = [];
    assert.equal(readsInto(stream, (piece) => pieces.push(piece)), stream);
    stream.end('plain');
    await once(stream, 'end');
    assert.equal(Buffer.concat(pieces).toString(), 'plain');
  });
});

describe('the buffers a stream reads into', () => {
  it('are collected every COLLECT_EVERY bytes read, by a minor collection', () => {
    // The collections V8 ran during `work`, counted as it runs them: no waiting on timers.
    const minor = (work: () => void): number => {
      const profiler = new GCProfiler();
      profiler.start();
      work();
      return profiler.stop().statistics.filter((s) => s.gcType === 'Scavenge').length;
    };
    // Nothing here allocates: any collection is the one asked for.
    noteBytesRead(COLLECT_EVERY); // starts the count from zero, whatever came before
    assert.equal(minor(() => noteBytesRead(COLLECT_EVERY - 1)), 0);
    assert.equal(minor(() => noteBytesRead(1)), 1);
  });
});

describe('reading HTTP responses through one buffer per connection', () => {
  it('brings each body whole and right, request after request on a kept-alive connection, all reads landing in one buffer', async () => {
    const random = seededRandom('one buffer');
    const bodies = [random.bytes(3 * 1024 * 1024 + 17), random.bytes(1_000_003), random.bytes(5)];
    let served = 0;
    const server = createHttpServer((_req, res) => res.end(bodies[served++]));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const agent = await oneBufferAgent({ keepAlive: true, maxSockets: 1 });
    try {
      const port = (server.address() as { port: number }).port;
      const sockets = new Set<unknown>();
      const reads = new Set<ArrayBufferLike>();
      for (const body of bodies) {
        const res = await new Promise<IncomingMessage>((resolve, reject) => httpGet({ host: '127.0.0.1', port, agent }, resolve).on('error', reject));
        if (!sockets.has(res.socket)) res.socket.prependListener('data', (d: Buffer) => reads.add(d.buffer));
        sockets.add(res.socket);
        const pieces: Buffer[] = [];
        for await (const piece of res as AsyncIterable<Buffer>) pieces.push(piece);
        assert.ok(Buffer.concat(pieces).equals(body), `a body of ${body.length} bytes came out different`);
      }
      assert.equal(sockets.size, 1, 'the three requests shared one kept-alive connection');
      assert.equal(reads.size, 1, `the connection read into ${reads.size} buffers: Node no longer takes onread here, and each read costs a buffer again`);
    } finally {
      agent.destroy();
      server.close();
    }
  });
});

describe('the young generation', () => {
  /** The largest young generation a child process reaches while it churns garbage, some of it kept a while, with or without the cap. */
  const largestYoungGeneration = async (capped: boolean): Promise<number> => {
    const heapFlags = new URL('../../src/runtime/heap-flags.js', import.meta.url).href;
    const script = `
      import { getHeapSpaceStatistics } from 'node:v8';
      const { capTheYoungGeneration } = await import(${JSON.stringify(heapFlags)});
      if (${capped}) capTheYoungGeneration();
      let largest = 0, kept = [];
      for (let i = 0; i < 4e6; i++) {
        kept.push({ i, s: 'x' + i });
        if (kept.length > 200000) kept = [];
        if (i % 1000 === 0) {
          await new Promise((resolve) => setImmediate(resolve));
          largest = Math.max(largest, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
        }
      }
      console.log(largest);`;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script]);
    return Number(stdout.trim());
  };

  // V8 doubles the young generation at each growth; its size may also count a page more than the limit (Node 24: 17 MiB).
  it('stops doubling at YOUNG_GENERATION_LIMIT once capped, where it would double past it', async () => {
    assert.ok((await largestYoungGeneration(false)) >= 2 * YOUNG_GENERATION_LIMIT, 'the workload grows an uncapped young generation to twice the limit');
    assert.ok((await largestYoungGeneration(true)) < 2 * YOUNG_GENERATION_LIMIT, 'capped, it never doubles past the limit');
  });
});

describe('reading a TLS connection into our own buffers', () => {
  let dir: string;
  let ends: { client: TLSSocket; accepted: Promise<TLSSocket>; close(): void };
  before(async () => {
    assert.ok((await checkTlsReads()).active, 'the check passed');
    dir = await makeTempDir();
    const ca = await makeCa(dir, 'reads');
    const cert = await makeServerCert(dir, ca, 'server');
    const server = createTlsServer({ key: await readFile(cert.keyFile), cert: await readFile(cert.certFile) });
    const accepted = once(server, 'secureConnection').then(([socket]) => socket as TLSSocket);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connectTls({ port: (server.address() as { port: number }).port, host: '127.0.0.1', servername: 'localhost', ca: await readFile(ca.certFile) });
    await once(client, 'secureConnect');
    ends = { client, accepted, close: () => (client.destroy(), server.close()) };
  });
  after(async () => {
    ends.close();
    await removeTempDir(dir);
  });

  it('opens each record into the target given, records split across targets, then into one buffer of its own', async () => {
    const server = await ends.accepted;
    const memory = Buffer.alloc(256 * 1024);
    // A target that ends inside the second record: the rest of it must go on into the next buffer.
    let target: Buffer | null = memory.subarray(4099, 4099 + 20_000);
    const pieces: { buffer: ArrayBufferLike; byteOffset: number; length: number }[] = [];
    const received: Buffer[] = [];
    const onBytes = (piece: Buffer): void => {
      pieces.push({ buffer: piece.buffer, byteOffset: piece.byteOffset, length: piece.length });
      received.push(Buffer.from(piece));
      const filled = 4099 + pieces.filter((p) => p.buffer === memory.buffer).reduce((n, p) => n + p.length, 0);
      target = filled < 4099 + 20_000 ? memory.subarray(filled, 4099 + 20_000) : null;
    };
    assert.equal(readsInto(server, onBytes, { target: () => target }), server, 'the TLS socket itself, not a new one');
    const exchange = async (bytes: Buffer): Promise<Buffer> => {
      const before = received.length;
      const total = () => Buffer.concat(received.slice(before));
      ends.client.write(bytes);
      for (const deadline = Date.now() + 10_000; total().length < bytes.length && Date.now() < deadline; ) await sleep(5);
      return total();
    };
    const random = seededRandom('tls reads');
    const first = random.bytes(40_000);
    assert.ok((await exchange(first)).equals(first), 'every byte, in order');
    const inMemory = pieces.filter((p) => p.buffer === memory.buffer);
    assert.equal(inMemory.reduce((n, p) => n + p.length, 0), 20_000, 'the target filled to its end, and not past it');
    assert.ok(inMemory.every((p, i) => p.byteOffset === 4099 + inMemory.slice(0, i).reduce((n, q) => n + q.length, 0)), 'each piece where the last one ended');
    assert.ok(memory.subarray(4099, 4099 + 20_000).equals(first.subarray(0, 20_000)), 'the bytes themselves in the target');
    const own = pieces.filter((p) => p.buffer !== memory.buffer);
    assert.ok(own.length >= 2 && own.every((p) => p.buffer === own[0]!.buffer && p.byteOffset === own[0]!.byteOffset), 'the rest in one buffer of its own, reused');
    const second = random.bytes(5_000);
    assert.ok((await exchange(second)).equals(second), 'and a later write too');
  });
});

describe('writing corked buffers to a TLS connection', () => {
  let dir: string;
  let pair: { client: TLSSocket; received: () => Buffer; close(): void };
  before(async () => {
    dir = await makeTempDir();
    const ca = await makeCa(dir, 'writes');
    const cert = await makeServerCert(dir, ca, 'server');
    const pieces: Buffer[] = [];
    const server = createTlsServer({ key: await readFile(cert.keyFile), cert: await readFile(cert.certFile) }, (s) => s.on('data', (d: Buffer) => pieces.push(d)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connectTls({ port: (server.address() as { port: number }).port, host: '127.0.0.1', servername: 'localhost', ca: await readFile(ca.certFile) });
    await once(client, 'secureConnect');
    pair = { client, received: () => Buffer.concat(pieces), close: () => (client.destroy(), server.close()) };
  });
  after(async () => {
    pair.close();
    await removeTempDir(dir);
  });

  it('hands the handle one buffer at a time, each whole, and all arrive in order', async () => {
    const handle = (pair.client as unknown as { _handle: Record<string, (...args: unknown[]) => unknown> })._handle;
    const calls: string[] = [];
    for (const method of ['writev', 'writeBuffer']) {
      const original = handle[method]!.bind(handle);
      handle[method] = (...args: unknown[]) => (calls.push(method), original(...args));
    }
    sealBuffersWhereTheyLie(pair.client);
    const parts = [Buffer.from('frame;'), Buffer.alloc(300_000, 1), Buffer.alloc(200_000, 2)];
    pair.client.cork();
    for (const part of parts) pair.client.write(part);
    pair.client.uncork();
    const total = parts.reduce((n, p) => n + p.length, 0);
    for (const deadline = Date.now() + 10_000; pair.received().length < total && Date.now() < deadline; ) await sleep(5);
    assert.deepEqual(calls, ['writeBuffer', 'writeBuffer', 'writeBuffer'], 'no writev: Node would copy its buffers together before sealing them');
    assert.ok(pair.received().equals(Buffer.concat(parts)));
  });
});

// What moving bytes over a loopback connection costs Node itself, plain TCP or
// TLS, with nothing of Cairn's: bench:tls puts it beside what HTTPS costs Cairn.
//
// A sender and a receiver, each a node process of its own as Cairn's client
// and server are: the sender writes the bytes in pieces the size of a mean
// blob, each on its own as a chunk stream writes them on TLS (no writev); the
// receiver reads into one buffer of its own (`onread`), as Cairn's chunk
// streams do. What both spent between connecting and the last byte is what
// the transfer cost.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect as connectTcp, createServer as createTcpServer, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer, type ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { median } from './report.js';

export interface TransferCost {
  /** CPU seconds, user and system, of the sender and the receiver together. */
  cpu: number;
  wall: number;
}

interface TransferSpec {
  bytes: number;
  piece: number;
  /** For TLS: the server's certificate and key (PEM files); the receiver does not check them. */
  tls?: { certFile: string; keyFile: string };
}

/** Sender's and receiver's own report, sent to the parent when the last byte has gone or come. */
interface Report {
  port?: number;
  cpu?: number;
  got?: number;
}

const SELF = fileURLToPath(import.meta.url);
const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** The transfer of `spec.bytes`, `rounds` times, TCP and TLS taking turns: the median cost of each. */
export async function loopbackCosts(spec: TransferSpec & { tls: NonNullable<TransferSpec['tls']> }, rounds = 3): Promise<{ tcp: TransferCost; tls: TransferCost }> {
  const tcp: TransferCost[] = [];
  const tls: TransferCost[] = [];
  for (let round = 0; round < rounds; round++) {
    tcp.push(await transfer({ ...spec, tls: undefined }));
    tls.push(await transfer(spec));
  }
  const mid = (costs: TransferCost[]): TransferCost => ({ cpu: median(costs.map((c) => c.cpu)), wall: median(costs.map((c) => c.wall)) });
  return { tcp: mid(tcp), tls: mid(tls) };
}

async function transfer(spec: TransferSpec): Promise<TransferCost> {
  const children: ChildProcess[] = [];
  const child = (role: string): ChildProcess => {
    const made = fork(SELF, [role, JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(made);
    return made;
  };
  const reportOf = async (from: ChildProcess): Promise<Report> => {
    const exited = once(from, 'exit').then(([code]): never => {
      throw new Error(`a loopback transfer's ${from === children[0] ? 'sender' : 'receiver'} exited with ${code}`);
    });
    const [report] = (await Promise.race([once(from, 'message'), exited])) as [Report];
    return report;
  };
  try {
    const sender = child('send');
    const { port } = await reportOf(sender);
    const started = performance.now();
    const receiver = child(`receive:${port}`);
    const [sent, received] = await Promise.all([reportOf(sender), reportOf(receiver)]);
    if (received.got !== spec.bytes) throw new Error(`a loopback transfer received ${received.got} bytes of ${spec.bytes}`);
    return { cpu: sent.cpu! + received.cpu!, wall: (performance.now() - started) / 1000 };
  } finally {
    for (const c of children) c.kill();
  }
}

async function send(spec: TransferSpec): Promise<void> {
  const piece = Buffer.alloc(spec.piece, 0x5a);
  const onConnection = async (socket: Socket): Promise<void> => {
    const before = cpuNow();
    // As a chunk stream on TLS does (src/runtime/tls-writes.ts): each piece sealed where it lies.
    if (spec.tls) (socket as { _writev?: unknown })._writev = null;
    for (let left = spec.bytes; left > 0; left -= piece.length) {
      if (!socket.write(left >= piece.length ? piece : piece.subarray(0, left))) await once(socket, 'drain');
    }
    socket.end(() => process.send!({ cpu: cpuNow() - before }));
  };
  const server = spec.tls
    ? createTlsServer({ cert: readFileSync(spec.tls.certFile), key: readFileSync(spec.tls.keyFile) }, (s) => void onConnection(s))
    : createTcpServer((s) => void onConnection(s));
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}

async function receive(spec: TransferSpec, port: number): Promise<void> {
  let got = 0;
  const onread = {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback: (n: number): boolean => {
      got += n;
      return true;
    },
  };
  // tls.connect takes onread as net.connect does; its types leave it out.
  const socket = spec.tls ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false, onread } as ConnectionOptions) : connectTcp({ host: '127.0.0.1', port, onread });
  await once(socket, spec.tls ? 'secureConnect' : 'connect');
  const before = cpuNow();
  socket.on('end', () => process.send!({ cpu: cpuNow() - before, got }, () => process.exit(0)));
}

if (process.argv[1] === SELF && process.send) {
  const [role = '', json = '{}'] = process.argv.slice(2);
  const spec = JSON.parse(json) as TransferSpec;
  if (role === 'send') await send(spec);
  else if (role.startsWith('receive:')) await receive(spec, Number(role.slice('receive:'.length)));
}

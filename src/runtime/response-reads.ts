import { Agent, createServer, get, type AgentOptions, type ClientRequestArgs, type IncomingMessage } from 'node:http';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { checkOnLoopback } from './loopback-check.js';
import { active, inactive, type Verdict } from './verdict.js';

/** What a connection reads into each time: as much as libuv asks for at once. */
const READ_BUFFER = 64 * 1024;

let checked: Promise<Verdict> | undefined;

/**
 * Whether an HTTP client connection can read every response into one buffer
 * of its own, reused: a GET's bytes must come out whole and right while each
 * piece of the body handed to the reader lies outside that buffer (Node's
 * parser copies it). Checked once per process, on a loopback server.
 */
export function checkResponseReads(): Promise<Verdict> {
  return (checked ??= probe());
}

/**
 * An HTTP (not HTTPS) agent whose connections read into one buffer each,
 * reused for every read, where Node would allocate a buffer per read on top of
 * the copy its parser makes of each piece of a body: twelve S3 GETs at once
 * left half the garbage for the collector (the server's 8 GiB restore from RGW
 * peaked at 254 and 256 MB instead of 265 and 275, docs/performance.md). A
 * plain agent where the check has not passed.
 */
export async function oneBufferAgent(options: AgentOptions): Promise<Agent> {
  return (await checkResponseReads()).active ? new OneBufferAgent(options) : new Agent(options);
}

class OneBufferAgent extends Agent {
  override createConnection(options: ClientRequestArgs): Socket {
    return connectReadingIntoOneBuffer(options as NetConnectOpts);
  }
}

/**
 * A connection whose reads land in one buffer, each handed on as a 'data'
 * event of the socket, which the HTTP parser handles synchronously and copies
 * from: the buffer is free again when the event returns.
 */
function connectReadingIntoOneBuffer(options: NetConnectOpts): Socket {
  const buffer = Buffer.allocUnsafe(READ_BUFFER);
  // Always true: a false would stop reading, and emit() says false whenever an idle kept-alive socket has no listener.
  const callback = (n: number, into: Uint8Array): boolean => {
    socket.emit('data', Buffer.from(into.buffer, into.byteOffset, n));
    return true;
  };
  const socket: Socket = connect({ ...options, onread: { buffer, callback } });
  return socket;
}

/** One GET through the agent from a loopback server: the bytes that arrive, and whether any piece of the body lay in a read buffer. */
async function probe(): Promise<Verdict> {
  // Several reads' worth, in a pattern no stale byte can imitate.
  const sent = Buffer.allocUnsafe(4 * READ_BUFFER + 123);
  for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 8)) & 0xff;
  const server = createServer((_req, res) => res.end(sent));
  return checkOnLoopback(server, 'could not check on a loopback HTTP server', async (port, keep) => {
    const agent = new OneBufferAgent({ keepAlive: false });
    keep(agent);
    const reads = new Set<ArrayBufferLike>();
    // Seen from the first read on: the headers' read may carry the body's first piece too.
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get({ host: '127.0.0.1', port, agent }, resolve)
        .on('socket', (socket) => socket.prependListener('data', (d: Buffer) => reads.add(d.buffer)))
        .on('error', reject),
    );
    let aliased = false;
    const pieces: Buffer[] = [];
    for await (const piece of response as AsyncIterable<Buffer>) {
      if (reads.has(piece.buffer)) aliased = true;
      pieces.push(piece);
    }
    if (!Buffer.concat(pieces).equals(sent)) return inactive('a response read through one buffer came out different from what was sent');
    if (aliased) return inactive("Node's HTTP parser handed over a piece of the body inside the read buffer instead of a copy");
    if (reads.size !== 1) return inactive(`the connection's reads came in ${reads.size} buffers, not one`);
    return active('an HTTP connection read a response into one buffer, and each piece of the body came out as a copy');
  });
}

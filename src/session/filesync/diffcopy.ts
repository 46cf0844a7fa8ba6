// FileSync.DiffCopy, sender side: the daemon calls us and we stream a local
// directory as fsutil packets (protocol reference §4). We send one STAT per
// entry and an end marker; meanwhile the daemon requests the files it lacks
// (REQ) and we answer each with DATA chunks and one empty DATA; the daemon
// ends with FIN, which we echo before finishing the call.
import { setMaxListeners } from 'node:events';
import fs, { constants as fsConstants, type BigIntStats } from 'node:fs';
import { PacketType, codec, type Packet } from '../../protocol/index.js';
import { Code, RpcError, type BidiCall, type CodeValue } from '../rpc.js';
import type { EncodedWriter } from '../server.js';
import { createFilter } from './filter.js';
import { isRegularGoMode } from './mode.js';
import { WorkQueue } from './queue.js';
import { encodePacket } from './packet.js';
import { readDiffCopyRequest, type DiffCopyRequest } from './diffcopy-request.js';
import { returnPreread, walkBatches } from './walk.js';
import { createPrereadBudget, FsThreadError, sharedFsThread, startedFsThread, type FsThread } from './fs-thread.js';

/** Counters a caller can pass to several transfers to get totals (job summary). */
export interface TransferStats {
  /** STAT packets with an entry (directories, files, symlinks). */
  entriesSent: number;
  /** Files whose content was sent completely. */
  filesSent: number;
  /** File content bytes sent in DATA packets. */
  bytesSent: number;
  /** The most file requests (REQ) ever waiting to be served at once; see MAX_QUEUED_REQUESTS. */
  requestsQueuedPeak: number;
}

export function createTransferStats(): TransferStats {
  return { entriesSent: 0, filesSent: 0, bytesSent: 0, requestsQueuedPeak: 0 };
}

export interface DiffCopyOptions {
  /**
   * Bytes per DATA packet; far below the daemon's 4 MiB (old) message limit.
   * Files smaller than this are read whole, in one call.
   */
  chunkSize?: number;
  /** Requests served at once; also the most files we hold open. */
  concurrency?: number;
  /**
   * Where the walk's lstat calls and small-file reads run: by default the
   * process's file system worker threads (much less CPU per call than libuv's
   * asynchronous calls); null for libuv's asynchronous calls.
   */
  fsThread?: FsThread | null;
  /** Read small files with their listings (see PREREAD_BYTES); on by default, with a worker thread. */
  preread?: boolean;
}

/**
 * 256 KiB: against 64 KiB, a quarter of the reads, packets and promise hops
 * per byte; about 15% less CPU for big files at the same throughput.
 */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;

/**
 * Requests served at once. A small file costs little memory (under one
 * chunk) and mostly waiting (its read on the worker thread, the stream
 * draining), so many in flight keep the transfer moving: 5,000 small files
 * went faster with 64 than with 16 (and no faster with 128 or 256). Big
 * files are limited to MAX_STREAMING.
 */
export const DEFAULT_CONCURRENCY = 64;

/** Files streamed in chunks at once (Go's sender serves 4 files at a time). */
const MAX_STREAMING = 4;

/**
 * File requests (REQ) waiting for a worker; beyond it we stop reading the
 * daemon's packets until workers catch up. The daemon asks for each file it
 * lacks, as fast as it likes, so without a bound a request flood (or one ID
 * requested over and over) grows the queue without end. 1,024 is sixteen
 * times the workers (DEFAULT_CONCURRENCY): they never run dry, and the FIN
 * that ends a transfer only comes once every requested file has arrived.
 */
export const MAX_QUEUED_REQUESTS = 1024;

/**
 * Small files are read with their directory's listing on the worker thread
 * (see WalkOptions.preread): at most this many bytes (each file counting
 * its size + 1) listed and not yet sent. A request for such a file is
 * answered from memory: no message to a worker thread and back per batch of
 * requests, which is what kept the event loop busy while the daemon waited
 * for data (BENCHMARKS.md, eighth session).
 */
export const PREREAD_BYTES = 16 * 1024 * 1024;

/**
 * The part of PREREAD_BYTES listings may read before the receiver asked for
 * any file. A receiver that needs nothing (a cached rebuild) makes us read
 * at most this much in vain; the rest comes with its first request, which
 * often arrives only after most directories were listed.
 */
export const PREREAD_BEFORE_REQUESTS = 4 * 1024 * 1024;

/** Only files below this size are read with their listing: a listing stays quick to come back. */
const PREREAD_FILE_BYTES = 64 * 1024;

/**
 * Serves one DiffCopy call. `dirs` maps the local names the build may read
 * (`context`, `dockerfile`, ...) to absolute directories. Resolves after the
 * FIN exchange; rejects with an RpcError (after sending ERR where the peer
 * should learn why) on any failure.
 */
export async function serveDiffCopy(
  call: BidiCall<Packet, Packet>,
  dirs: ReadonlyMap<string, string>,
  stats?: TransferStats,
  options: DiffCopyOptions = {},
): Promise<void> {
  const request = readDiffCopyRequest(call.metadata);
  const root = dirs.get(request.dirName);
  if (root === undefined) throw new RpcError(Code.NOT_FOUND, `no access allowed to dir "${request.dirName}"`);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!(chunkSize > 0) || !(concurrency > 0)) throw new RangeError('chunkSize and concurrency must be positive');
  const thread = options.fsThread === undefined ? (startedFsThread() ?? ((await wantsFsThreads(root)) ? sharedFsThread() : undefined)) : (options.fsThread ?? undefined);
  await new Transfer(call, root, request, stats ?? createTransferStats(), chunkSize, concurrency, thread, options.preread ?? true).run();
}

/** More entries than this in a directory without subdirectories make the worker threads worth it. */
const FLAT_DIR_ENTRIES = 64;

/**
 * Whether serving `root` is worth starting the file system worker threads,
 * which cost about 19 MB of RSS for the two (measured, Node 20): yes for any
 * subdirectory or more than FLAT_DIR_ENTRIES entries, no for a flat handful
 * of files (a tiny context, a Dockerfile's directory, a few big files, which
 * are streamed with asynchronous reads anyway). A directory that cannot be
 * read says no; the walk reports the error itself.
 */
export async function wantsFsThreads(root: string): Promise<boolean> {
  try {
    let count = 0;
    // opendir, not readdir: stops after the first subdirectory.
    for await (const entry of await fs.promises.opendir(root, { bufferSize: 32 })) {
      if (entry.isDirectory() || ++count > FLAT_DIR_ENTRIES) return true;
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * Starts the file system workers now if one of the directories is worth them
 * (see wantsFsThreads), so the ~40 ms a thread takes to start overlap with the
 * daemon preparing the build instead of delaying the first transfer. Optional:
 * the first transfer that wants them starts them otherwise. Never rejects.
 */
export async function prepareFileSync(dirs: Iterable<string>): Promise<void> {
  for (const dir of new Set(dirs)) {
    if (await wantsFsThreads(dir)) {
      sharedFsThread();
      return;
    }
  }
}

/** A failure plus whether the receiver should be told with an ERR packet. */
class TransferError extends Error {
  constructor(
    message: string,
    readonly code: CodeValue,
    readonly tellPeer: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransferError';
  }

  static from(err: unknown): TransferError {
    if (err instanceof TransferError) return err;
    if (err instanceof RpcError) return new TransferError(err.message, err.code, err.code !== Code.CANCELLED, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new TransferError(message, Code.UNKNOWN, true, { cause: err });
  }
}

/** Rejection of writes after the last packet (FIN or ERR) was queued. */
class WriterClosed extends Error {}

/**
 * Serialises writes from the walker and the file workers so packets are never
 * interleaved mid-write, each writer still awaits backpressure, and nothing
 * can follow the final FIN or ERR.
 *
 * When the call accepts encoded messages (our session server's do), packets
 * are encoded here, which is much cheaper than the generic codec and passes
 * file content on without copying it, and written synchronously while the
 * stream has room: no promise chain per packet. Only while the stream is
 * full do writes queue, in order, behind its 'drain'.
 */
class PacketWriter {
  /** Set while writes wait (stream full, or a plain call's write in flight); later writes queue behind it. */
  private tail: Promise<void> | undefined;
  private closed = false;
  private readonly encoded: Partial<EncodedWriter> & Pick<EncodedWriter, 'writeEncoded' | 'drained'> | undefined;

  /** `stop` ends waits for budget once the transfer is over. */
  constructor(
    private readonly call: BidiCall<Packet, Packet>,
    private readonly stop?: AbortSignal,
  ) {
    const candidate = call as Partial<EncodedWriter>;
    this.encoded = typeof candidate.writeEncoded === 'function' && typeof candidate.drained === 'function' ? (call as unknown as EncodedWriter) : undefined;
  }

  /**
   * Holds `bytes` of the session's response budget for content about to be
   * read (waits while the session holds too much the daemon has not taken);
   * the write that sends it passes the same number. Calls without a budget
   * reserve nothing.
   */
  async reserve(bytes: number): Promise<void> {
    if (this.closed) throw new WriterClosed('transfer finished');
    await this.encoded?.reserve?.(bytes, this.stop);
  }

  /** Gives back a reservation that will not be written. */
  unreserve(bytes: number): void {
    this.encoded?.unreserve?.(bytes);
  }

  /**
   * `onReleased` runs once the session holds none of the packet's buffers
   * (see EncodedWriter.writeEncoded); never for a plain call, or if the
   * write fails.
   */
  write(packet: Packet, reserved = 0, onReleased?: () => void): Promise<void> {
    return this.writeAll([packet], reserved, onReleased);
  }

  /** Writes packets in order, back to back (a batch of STATs, a small file and its end). */
  writeAll(packets: readonly Packet[], reserved = 0, onReleased?: () => void): Promise<void> {
    if (this.closed) {
      this.unreserve(reserved);
      return Promise.reject(new WriterClosed('transfer finished'));
    }
    return this.push(packets, reserved, onReleased);
  }

  /** Queues the last packet; later writes are refused. */
  finish(packet?: Packet): Promise<void> {
    this.closed = true;
    return packet ? this.push([packet], 0) : Promise.resolve();
  }

  private push(packets: readonly Packet[], reserved: number, onReleased?: () => void): Promise<void> {
    let done: Promise<void>;
    if (this.tail) {
      let ran = false;
      done = this.tail.then(
        () => {
          ran = true;
          return this.writeNow(packets, reserved, onReleased);
        },
        (err: unknown) => {
          // The stream failed before this write's turn: its reservation is not used.
          if (!ran) this.unreserve(reserved);
          throw err;
        },
      );
    } else {
      done = this.writeNow(packets, reserved, onReleased);
      if (done === WRITTEN) return done;
    }
    this.tail = done;
    const clear = (): void => {
      if (this.tail === done) this.tail = undefined;
    };
    done.then(clear, clear);
    return done;
  }

  /** Writes at once (using up the reservation); resolves when the stream takes more. */
  private writeNow(packets: readonly Packet[], reserved: number, onReleased?: () => void): Promise<void> {
    if (!this.encoded) return this.writePlain(packets);
    try {
      return this.encoded.writeEncoded(packets.map(encodeForWire), reserved, onReleased) ? WRITTEN : this.encoded.drained();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** A plain BidiCall: one write at a time. */
  private async writePlain(packets: readonly Packet[]): Promise<void> {
    for (const packet of packets) await this.call.write(packet);
  }
}

const WRITTEN = Promise.resolve();

const packetCodec = codec<Packet>('fsutil.types.Packet');

/** Our encoder, or the generic codec for what it does not cover (device numbers). */
function encodeForWire(packet: Packet): readonly Buffer[] {
  return encodePacket(packet) ?? [packetCodec.encode(packet)];
}

/** gRPC prefix and packet fields around a DATA payload (type, ID, length), rounded up. */
const PACKET_OVERHEAD = 32;

/** About what a batch of STAT packets encodes to; the write settles the exact size. */
function estimateStatBytes(packets: readonly Packet[]): number {
  let bytes = 0;
  for (const p of packets) bytes += 64 + (p.stat ? p.stat.path.length + (p.stat.linkname?.length ?? 0) : 0);
  return bytes;
}

/** A requestable file and the inode the walk saw, to detect swaps before reading. */
interface FileRef {
  readonly path: string;
  /** Absolute path, as the walk found it. */
  readonly abs: string;
  readonly dev: bigint;
  readonly ino: bigint;
  /** Size at walk time: below one chunk, the file is read in one synchronous call. */
  readonly size: number;
  /** Content read with the listing (see PREREAD_BYTES), until a request takes it. */
  content?: Buffer | undefined;
}

// O_NOFOLLOW does not exist on Windows; the inode check below still applies.
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);

class Transfer {
  private readonly writer: PacketWriter;
  /** File ID → file; only regular files are requestable. */
  private readonly files = new Map<number, FileRef>();
  private readonly requests = new WorkQueue<number>(MAX_QUEUED_REQUESTS);
  /** Big files streamed at once: bounds memory and disk seeks (small files are read whole). */
  private readonly streaming: Limiter;
  /** Chunk buffers of big files, reused once the session has sent them. */
  private readonly chunks: ChunkPool;
  /** Stops the walker and the workers (FIN received, or failure). */
  private readonly stop = new AbortController();
  /** What listings may still read (see PREREAD_BYTES); topped up by the receiver's first request. */
  private readonly prereadBudget = createPrereadBudget(PREREAD_BEFORE_REQUESTS);
  /** Set by the receiver's first request, which tops up prereadBudget. */
  private receiverRequests = false;

  constructor(
    private readonly call: BidiCall<Packet, Packet>,
    private readonly root: string,
    private readonly request: DiffCopyRequest,
    private readonly stats: TransferStats,
    private readonly chunkSize: number,
    private readonly concurrency: number,
    private readonly thread: FsThread | undefined,
    private readonly preread: boolean,
  ) {
    // Each worker waiting for the session's send budget listens to it.
    setMaxListeners(0, this.stop.signal);
    this.writer = new PacketWriter(call, this.stop.signal);
    this.streaming = new Limiter(Math.min(concurrency, MAX_STREAMING));
    this.chunks = new ChunkPool(chunkSize, POOLED_CHUNKS);
  }

  async run(): Promise<void> {
    let failed = false;
    let rejectFailure!: (err: TransferError) => void;
    const failure = new Promise<never>((_, reject) => (rejectFailure = reject));
    failure.catch(() => undefined); // observed through the race below
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      this.stopWork();
      rejectFailure(TransferError.from(err));
    };
    const onCancel = (): void => fail(new RpcError(Code.CANCELLED, 'DiffCopy cancelled by the receiver'));
    if (this.call.signal.aborted) onCancel();
    else this.call.signal.addEventListener('abort', onCancel, { once: true });

    // The daemon requests files while we are still walking, so reading,
    // walking and serving all run at once.
    const tasks = [this.sendStats().catch(fail)];
    for (let i = 0; i < this.concurrency; i++) tasks.push(this.serveRequests().catch(fail));
    const reading = this.readUntilFin();
    reading.catch(fail);

    try {
      await Promise.race([reading, failure]);
    } catch (err) {
      const e = TransferError.from(err);
      const last = this.writer.finish(e.tellPeer ? { type: PacketType.ERR, data: Buffer.from(e.message, 'utf8') } : undefined);
      // Let open files close before returning, unless the call is gone and
      // a blocked write would keep us here.
      await Promise.race([Promise.allSettled([last, ...tasks]), whenAborted(this.call.signal)]);
      throw new RpcError(e.code, e.message);
    } finally {
      this.call.signal.removeEventListener('abort', onCancel);
    }

    // FIN received: the receiver has everything it asked for.
    failed = true;
    this.stopWork();
    await this.writer.finish({ type: PacketType.FIN });
    await Promise.allSettled(tasks);
  }

  private stopWork(): void {
    this.stop.abort();
    this.requests.close();
    this.streaming.close();
  }

  /** Reads the receiver's packets; resolves on FIN. */
  private async readUntilFin(): Promise<void> {
    for await (const packet of this.call.messages) {
      if (this.stop.signal.aborted) return;
      // Absent fields are zero values: a missing type is STAT, a missing ID is 0.
      switch (packet.type ?? PacketType.STAT) {
        case PacketType.REQ: {
          const id = packet.ID ?? 0;
          // IDs count every STAT, so a directory or symlink ID is valid as an
          // index but has no content: a receiver asking for it is broken.
          if (!this.files.has(id)) throw new TransferError(`invalid file id ${id}`, Code.INVALID_ARGUMENT, true);
          // A full queue: read on only once workers took some (see MAX_QUEUED_REQUESTS).
          if (this.requests.full) await this.requests.room();
          this.requests.push(id);
          if (!this.receiverRequests) {
            this.receiverRequests = true;
            Atomics.add(this.prereadBudget, 0, PREREAD_BYTES - PREREAD_BEFORE_REQUESTS);
          }
          if (this.requests.size > this.stats.requestsQueuedPeak) this.stats.requestsQueuedPeak = this.requests.size;
          break;
        }
        case PacketType.FIN:
          return;
        case PacketType.ERR:
          throw new TransferError(`error from receiver: ${packet.data?.toString('utf8') ?? ''}`, Code.UNKNOWN, false);
        default:
          break; // STAT/DATA carry nothing for a sender
      }
    }
    if (this.stop.signal.aborted) return;
    throw new TransferError('receiver closed the stream without FIN', Code.UNKNOWN, true);
  }

  private async sendStats(): Promise<void> {
    const filter = await createFilter(this.root, this.request);
    // The receiver numbers entries the same way without seeing IDs, so every
    // sent STAT advances the counter, whatever its type.
    let id = 0;
    const preread = { budget: this.prereadBudget, maxFileBytes: Math.min(PREREAD_FILE_BYTES, this.chunkSize) };
    const walkOptions = { filter, signal: this.stop.signal, ...(this.thread ? { fsThread: this.thread, ...(this.preread ? { preread } : {}) } : {}) };
    for await (const batch of walkBatches(this.root, walkOptions)) {
      if (this.stop.signal.aborted) return;
      const packets: Packet[] = [];
      for (const entry of batch) {
        // Register before writing: a REQ can only follow the STAT it names.
        if (isRegularGoMode(entry.stat.mode)) {
          this.files.set(id, { path: entry.stat.path, abs: entry.abs, dev: entry.dev, ino: entry.ino, size: Number(entry.stat.size ?? 0), content: entry.content });
        } else if (entry.content) {
          returnPreread(this.prereadBudget, entry.content);
        }
        id++;
        packets.push({ type: PacketType.STAT, stat: entry.stat });
      }
      // One queue item per batch, not per entry; its bytes count against the session's budget like file content.
      const bytes = estimateStatBytes(packets);
      await this.writer.reserve(bytes);
      await this.writer.writeAll(packets, bytes);
      this.stats.entriesSent += packets.length;
      // Let the event loop turn before the next batch. The worker thread's
      // listings arrive as messages that Node delivers back to back, and
      // without a turn in between the whole walk runs before HTTP/2 sends
      // anything: the STATs of 5,000 files sat in the session for 90 ms,
      // and so did the daemon's first file requests (BENCHMARKS.md).
      await yieldToEventLoop();
    }
    if (this.stop.signal.aborted) return;
    // End of walk: a STAT packet without a stat (an empty stat would be read as an entry).
    await this.writer.write({ type: PacketType.STAT });
  }

  private async serveRequests(): Promise<void> {
    for (;;) {
      const id = await this.requests.take();
      if (id === undefined || this.stop.signal.aborted) return;
      await this.sendFile(id);
    }
  }

  /** Sends one file: DATA chunks, then an empty DATA as end-of-file. */
  private async sendFile(id: number): Promise<void> {
    const file = this.files.get(id)!; // checked when the REQ arrived
    if (file.size < this.chunkSize) {
      // Room for the content before it is read: what the daemon has not taken yet is bounded per session.
      const reserved = file.size + 1 + PACKET_OVERHEAD;
      await this.writer.reserve(reserved);
      let content = file.content;
      if (content) {
        // Read with its listing: once sent, the room goes back to the listings.
        file.content = undefined;
        returnPreread(this.prereadBudget, content);
      } else {
        try {
          content = this.thread ? await readSmallFileOnThreadOrHere(this.thread, file) : await readSmallFile(file);
        } catch (err) {
          this.writer.unreserve(reserved);
          throw err;
        }
      }
      if (content) {
        // The content and the end-of-file marker in one write.
        const end: Packet = { type: PacketType.DATA, ID: id };
        await this.writer.writeAll(content.length > 0 ? [{ type: PacketType.DATA, ID: id, data: content }, end] : [end], reserved);
        this.stats.bytesSent += content.length;
        this.stats.filesSent++;
        return;
      }
      this.writer.unreserve(reserved);
      // It grew since the walk: stream it like a big one.
    }
    await this.streaming.acquire();
    try {
      if (this.stop.signal.aborted) return;
      await this.streamFile(id, file);
    } finally {
      this.streaming.release();
    }
  }

  /** Sends a file in chunks of chunkSize. */
  private async streamFile(id: number, file: FileRef): Promise<void> {
    const abs = file.abs;
    let fd: number;
    try {
      // O_NOFOLLOW: if the file became a symlink since the walk, fail
      // rather than send whatever it points to (maybe outside the root).
      fd = await fsCall<number>((cb) => fs.open(abs, OPEN_FLAGS, cb));
    } catch (err) {
      throw readError(file.path, err);
    }
    try {
      let st: BigIntStats;
      try {
        st = await fsCall<BigIntStats>((cb) => fs.fstat(fd, { bigint: true }, cb));
      } catch (err) {
        throw readError(file.path, err);
      }
      checkIdentity(file, st);
      let position = 0;
      for (;;) {
        if (this.stop.signal.aborted) return;
        const reserved = this.chunkSize + PACKET_OVERHEAD;
        await this.writer.reserve(reserved);
        // A buffer nothing references any more: the session may still hold
        // earlier chunks (queued, or in the tunnel) until it releases them.
        const buffer = this.chunks.take();
        let bytesRead: number;
        try {
          bytesRead = await fsCall<number>((cb) => fs.read(fd, buffer, 0, buffer.length, position, cb));
        } catch (err) {
          this.writer.unreserve(reserved);
          this.chunks.give(buffer);
          throw readError(file.path, err);
        }
        if (bytesRead === 0) {
          this.writer.unreserve(reserved);
          this.chunks.give(buffer);
          break;
        }
        position += bytesRead;
        const packet: Packet = { type: PacketType.DATA, ID: id, data: buffer.subarray(0, bytesRead) };
        await this.writer.write(packet, reserved, () => this.chunks.give(buffer));
        this.stats.bytesSent += bytesRead;
        // A short read of a regular file is its end: no extra read to see 0.
        if (bytesRead < buffer.length) break;
      }
      if (this.stop.signal.aborted) return;
      await this.writer.write({ type: PacketType.DATA, ID: id });
      this.stats.filesSent++;
    } finally {
      await fsCall<void>((cb) => fs.close(fd, (err) => cb(err, undefined))).catch(() => undefined);
    }
  }
}

/**
 * Reads a file smaller than one chunk in one go (one DATA packet), or returns
 * undefined if it grew since the walk. Asynchronous, like all file I/O here,
 * so the event loop keeps answering the session; with as few sequential
 * thread-pool round trips as possible, since contexts often hold thousands
 * of small files: open, then fstat and read at once (nothing is sent before
 * the identity check), and the close is not waited for.
 */
async function readSmallFile(file: FileRef): Promise<Buffer | undefined> {
  let fd: number;
  try {
    // O_NOFOLLOW: if the file became a symlink since the walk, fail
    // rather than send whatever it points to (maybe outside the root).
    fd = await fsCall<number>((cb) => fs.open(file.abs, OPEN_FLAGS, cb));
  } catch (err) {
    throw readError(file.path, err);
  }
  try {
    // One byte more than the walk saw: a full buffer means the file grew.
    const buffer = Buffer.allocUnsafe(file.size + 1);
    const [st, read] = await Promise.allSettled([
      fsCall<BigIntStats>((cb) => fs.fstat(fd, { bigint: true }, cb)),
      fsCall<number>((cb) => fs.read(fd, buffer, 0, buffer.length, 0, cb)),
    ]);
    if (st.status === 'rejected') throw readError(file.path, st.reason);
    checkIdentity(file, st.value);
    if (read.status === 'rejected') throw readError(file.path, read.reason);
    // A short read of a regular file is its end.
    return read.value < buffer.length ? buffer.subarray(0, read.value) : undefined;
  } finally {
    fs.close(fd, () => {
      // nothing was written; a failed close loses nothing
    });
  }
}

/** On the worker thread, or here if the worker is gone. */
async function readSmallFileOnThreadOrHere(thread: FsThread, file: FileRef): Promise<Buffer | undefined> {
  try {
    return await readSmallFileOnThread(thread, file);
  } catch (err) {
    if (err instanceof FsThreadError) return readSmallFile(file);
    throw err;
  }
}

/** readSmallFile on the worker thread: one message for all the files asked for at once. */
async function readSmallFileOnThread(thread: FsThread, file: FileRef): Promise<Buffer | undefined> {
  // One byte more than the walk saw: a full buffer means the file grew.
  const maxBytes = file.size + 1;
  const reply = await thread.read({ abs: file.abs, maxBytes });
  if ('error' in reply) throw readError(file.path, Object.assign(new Error(reply.error), { code: reply.error }));
  if (!reply.isFile || reply.dev !== file.dev || reply.ino !== file.ino) throw replacedError(file);
  return reply.data.length < maxBytes ? reply.data : undefined;
}

/**
 * Buffers of one size, handed out and given back once nothing references
 * them. Without reuse a 1 GB transfer allocates 4,000 chunks, and the dead
 * ones are only freed when V8 collects them: on Node 24 that left ~45 MB of
 * sent chunks in memory at the peak of a 1 GB transfer (BENCHMARKS.md,
 * thirteenth session). A buffer given back is filled again only by a later
 * read, so giving one back while anything still reads it would corrupt a
 * file: callers give back only from a write's release callback (or a buffer
 * never written).
 */
class ChunkPool {
  private readonly free: Buffer[] = [];

  constructor(
    private readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}

/**
 * Free chunk buffers kept for reuse (4 MiB at the default chunk size): what
 * MAX_STREAMING files keep in flight at full speed; more in flight are
 * allocated and left to the garbage collector as before.
 */
const POOLED_CHUNKS = 16;

/** At most `max` holders at once; close() lets every waiter through (to stop). */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.closed || this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes on
    else this.active--;
  }

  close(): void {
    this.closed = true;
    for (const next of this.waiting.splice(0)) {
      this.active++;
      next();
    }
  }
}

/**
 * O_NOFOLLOW only guards the last path component; a parent directory
 * swapped for a symlink leads to another inode, which this catches.
 */
function checkIdentity(file: FileRef, st: BigIntStats): void {
  if (!st.isFile() || st.dev !== file.dev || st.ino !== file.ino) throw replacedError(file);
}

function replacedError(file: FileRef): TransferError {
  return new TransferError(`failed to read ${file.path}: file was replaced during the transfer`, Code.UNKNOWN, true);
}

/**
 * Node's callback fs API as a promise. Cheaper than fs.promises, whose
 * FileHandle calls allocate a result holder per call: this adds up over
 * thousands of files and hundreds of thousands of chunks.
 */
function fsCall<T>(start: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

/** The receiver shows this text; name the relative path and the errno only. */
function readError(relPath: string, err: unknown): TransferError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ?? (err instanceof Error ? err.message : String(err));
  return new TransferError(`failed to read ${relPath}: ${reason}`, Code.UNKNOWN, true, { cause: err });
}

/** Resolves after the event loop's next check phase: pending I/O (HTTP/2 writes, reads) runs first. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

// The user's own CIFAR-10 in the page: the official cifar-10-binary.tar.gz goes through fflate's
// streaming gunzip and a streamed tar reader that keeps only the members CIFAR-10 needs, each
// bounded in size, so neither the whole tar nor an unexpected member is ever held in memory. The
// unpacked bytes and the entries are capped too: a small file can unpack to gigabytes.
import { Gunzip } from 'fflate';
import { UserError } from '../../../src/errors.js';

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

/** The files of cifar-10-batches-bin that training reads, wherever they sit in the archive. */
const CIFAR10_MEMBER = /^(data_batch_[1-9]\d*\.bin|test_batch\.bin|batches\.meta\.txt)$/;
/** A batch of the official set is 30,730,000 bytes; anything much larger is not CIFAR-10. */
export const MAX_MEMBER_BYTES = 64_000_000;
/** The official archive is 170,052,171 bytes. */
export const MAX_ARCHIVE_BYTES = 200_000_000;
/** The official archive unpacks to 184 MB (six batches, the class names, a readme, tar's headers). */
export const MAX_UNPACKED_BYTES = 200_000_000;
/** The official archive has 9 entries (the folder and its 8 files). */
export const MAX_ENTRIES = 64;
const BLOCK = 512;
/**
 * The compressed bytes go to gunzip in slices this small, so the tar reader sees a stream: deflate
 * expands a byte at most 1032-fold, so one slice unpacks to at most 17 MB before the caps look.
 */
const SLICE_BYTES = 16 * 2 ** 10;

export const megabytes = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`;

/** The file name CIFAR-10 knows a member by (its last path component), or null to skip it. */
export function cifar10MemberName(path: string): string | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return CIFAR10_MEMBER.test(base) ? base : null;
}

/** Reads a tar stream pushed in chunks of any size; keeps the CIFAR-10 members (ustar headers). */
class TarStream {
  readonly members: NamedBytes[] = [];
  private header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** The member being read, or null while skipping data nobody wants. */
  private member: NamedBytes | null = null;
  /** Bytes left of the current entry's data, then of its padding to the next block. */
  private dataLeft = 0;
  private paddingLeft = 0;
  /** Past the end-of-archive block: what follows is only counted (gunzip still checks its CRC). */
  private ended = false;
  private unpacked = 0;
  private entries = 0;

  constructor(private readonly archive: string) {}

  push(chunk: Uint8Array): void {
    this.unpacked += chunk.length;
    if (this.unpacked > MAX_UNPACKED_BYTES) {
      throw new UserError(
        `${this.archive} unpacks to more than ${megabytes(MAX_UNPACKED_BYTES)}, the most this page reads ` +
          `(CIFAR-10 unpacks to 184 MB): it is not the CIFAR-10 archive`,
      );
    }
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - at);
        if (this.member) this.member.bytes.set(chunk.subarray(at, at + n), this.member.bytes.length - this.dataLeft);
        this.dataLeft -= n;
        at += n;
      } else if (this.paddingLeft > 0) {
        const n = Math.min(this.paddingLeft, chunk.length - at);
        this.paddingLeft -= n;
        at += n;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
        this.header.set(chunk.subarray(at, at + n), this.headerFill);
        this.headerFill += n;
        at += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.readHeader();
        }
      }
    }
  }

  /** Checks that the stream ended between entries, not inside one. */
  finish(): void {
    if (this.dataLeft > 0 || this.headerFill > 0) {
      throw new UserError(`${this.archive} is truncated: it ends in the middle of ${this.member ? this.member.name : 'an entry'}`);
    }
  }

  private readHeader(): void {
    const h = this.header;
    // A zero block marks the end of the archive.
    if (h.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    const text = (from: number, length: number): string => {
      const field = h.subarray(from, from + length);
      const end = field.indexOf(0);
      return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
    };
    if (++this.entries > MAX_ENTRIES) {
      throw new UserError(
        `${this.archive} has more than ${MAX_ENTRIES} entries, the most this page reads (CIFAR-10's archive has 9): it is not the CIFAR-10 archive`,
      );
    }
    const size = parseInt(text(124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0) throw new UserError(`${this.archive} is not a tar archive (a bad entry header)`);
    const prefix = text(345, 155);
    const path = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100);
    const type = text(156, 1);
    const name = type === '' || type === '0' ? cifar10MemberName(path) : null;
    this.member = null;
    if (name !== null) {
      if (size > MAX_MEMBER_BYTES)
        throw new UserError(
          `${this.archive}: ${path} is ${size} bytes, more than the ${megabytes(MAX_MEMBER_BYTES)} a CIFAR-10 file can be`,
        );
      this.member = { name, bytes: new Uint8Array(size) };
      this.members.push(this.member);
    }
    this.dataLeft = size;
    this.paddingLeft = (BLOCK - (size % BLOCK)) % BLOCK;
  }
}

/** The CIFAR-10 files inside a .tar.gz, read as a stream; `name` names the archive in errors. */
export function readCifar10Archive(gz: Uint8Array, name: string): NamedBytes[] {
  const tar = new TarStream(name);
  const gunzip = new Gunzip((chunk) => tar.push(chunk));
  try {
    for (let at = 0; at < gz.length; at += SLICE_BYTES) {
      gunzip.push(gz.subarray(at, at + SLICE_BYTES), at + SLICE_BYTES >= gz.length);
    }
    if (gz.length === 0) gunzip.push(gz, true);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new UserError(`${name} is truncated or not a gzip file (${why})`);
  }
  tar.finish();
  if (tar.members.length === 0) throw new UserError(`${name} holds no CIFAR-10 files (data_batch_N.bin, test_batch.bin)`);
  return tar.members;
}

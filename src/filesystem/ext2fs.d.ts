// The parts of the `ext2fs` package (libext2fs in WebAssembly) that Cairn uses; it ships no types.
declare module 'ext2fs' {
  export interface Ext2Disk {
    read(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<unknown>;
    write(buffer: Buffer, bufferOffset: number, length: number, fileOffset: number): Promise<unknown>;
    flush(): Promise<void>;
    discard(offset: number, length: number): Promise<void>;
  }
  export interface Ext2Stats {
    mode: number;
    nlink: number;
    uid: number;
    gid: number;
    size: number;
    ino: number;
    mtime: Date;
  }
  export interface Ext2FileHandle {
    read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
    close(): Promise<void>;
  }
  export interface Ext2Promises {
    readdir(path: string): Promise<string[]>;
    lstat(path: string): Promise<Ext2Stats>;
    stat(path: string): Promise<Ext2Stats>;
    readlink(path: string): Promise<string>;
    open(path: string, flags: string): Promise<Ext2FileHandle>;
  }
  export interface Ext2Fs {
    promises: Ext2Promises;
  }
  export function mount(disk: Ext2Disk, offset?: number): Promise<Ext2Fs>;
  export function umount(fs: Ext2Fs): Promise<void>;
}

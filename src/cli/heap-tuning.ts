import { setFlagsFromString } from 'node:v8';

/**
 * Lets V8 start a full (mark-compact) collection only when the old generation
 * nears its limit. By default it also starts one, from a task, whenever the room
 * left under the limit is small next to the young generation, which a process
 * moving chunks always is: every 4 MiB request and socket read allocates, and
 * a server taking a backup of the 2 GiB benchmark disk ran 10 to 28 full
 * collections of a heap that stayed at 22 MB, up to 1 CPU-second of its 2.5
 * (its threads' CPU read from /proc). The limit itself, and so peak memory,
 * stays V8's.
 * The flags are read at every allocation-limit check, so setting them at run
 * time takes effect; they apply to every isolate of the process.
 */
export function startFullCollectionsNearTheLimit(): void {
  setFlagsFromString('--incremental-marking-soft-trigger=90');
  setFlagsFromString('--incremental-marking-hard-trigger=95');
}

// The upper layers of a job's overlays (native/launcher/overlay.c makes one per host mount point):
// where the job's writes outside its workdir went. pollution.ts walks them for the report and
// layer.ts keeps them for --keep-layer, writeback.ts writes a job's outputs back from them; each
// takes the layer's types from here, so none imports another's.
import type fs from 'node:fs';
import type { FsChange } from '../job/result.js';

export interface UpperLayer {
  /** The layer's upper directory on the host. */
  upper: string;
  /** The mount point it overlays, as the job saw it. */
  mountPoint: string;
  /** The host's path of that mount point, where it is not the same (a SRC:DST:overlay volume). */
  source?: string;
}

/** One entry of an upper layer, as the walk found it: a change, with where it lies. */
export interface LayerEntry extends FsChange {
  /** The entry in the upper layer. */
  upper: string;
  /** The host's path the job's path stands for. */
  hostPath: string;
  /** Its lstat in the upper layer. */
  stat: fs.Stats;
  /** The host's path of the layer's mount point. */
  layerRoot: string;
}

/**
 * Takes an entry out of the report (returns true): what `outputs` writes back. Called for each
 * change the walk would record, parents before what is below them.
 */
export type Claim = (entry: LayerEntry) => boolean;

// The upper layers of a job's overlays (native/launcher/overlay.c makes one per host mount point):
// where the job's writes outside its workdir went. pollution.ts walks them for the report and
// layer.ts keeps them for --keep-layer; both take them from here, so neither imports the other's.

export interface UpperLayer {
  /** The layer's upper directory on the host. */
  upper: string;
  /** The mount point it overlays, as the job saw it. */
  mountPoint: string;
}

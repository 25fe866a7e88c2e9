/**
 * Tier presets: which building blocks each rung of the ladder switches on.
 * A preset is data; tiers/ reads it to pick and wire components.
 */
import type { Tier } from "./settings";

export interface Preset {
  /** One line for the plan and the docs. */
  summary: string;
  /** Where PostgreSQL runs. */
  database: "on-box" | "rds";
  /** Where static and media files live. */
  files: "on-box" | "s3";
  /** What receives HTTP(S) from the world. */
  front: "box" | "alb";
  /** The issue that builds this preset, while it is not built yet. */
  pending?: string;
}

export const PRESETS: Record<Tier, Preset> = {
  "single-box": {
    summary: "one VM: nginx → gunicorn under supervisor, PostgreSQL, Redis and the task worker on the same box",
    database: "on-box",
    files: "on-box",
    front: "box",
  },
  "external-db": {
    summary: "as single-box, with PostgreSQL on RDS",
    database: "rds",
    files: "on-box",
    front: "box",
  },
  "object-storage": {
    summary: "as external-db, with static and media files on S3",
    database: "rds",
    files: "s3",
    front: "box",
  },
  "load-balanced": {
    summary: "an ALB in front of blue and green autoscaling fleets, RDS and S3",
    database: "rds",
    files: "s3",
    front: "alb",
  },
};

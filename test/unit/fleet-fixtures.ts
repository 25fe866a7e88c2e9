/**
 * The server spec the fleet and task-queue tests hand their components: one
 * app on RDS, ElastiCache and S3, in the app or worker role.
 */
import type { BoxSpec } from "../../server/types";

export function serverSpec(role: "app" | "worker", over: Partial<BoxSpec> = {}): Omit<BoxSpec, "configParameter"> {
  return {
    role,
    project: "django-tiers",
    stack: "prod",
    environment: "prod",
    region: "us-east-1",
    apps: [{
      name: "mysite",
      domains: ["example.com"],
      settingsModule: "mysite.settings",
      wsgiApplication: "mysite.wsgi:application",
      celeryApp: "mysite",
      releaseParameter: "/django-tiers/django-tiers/prod/mysite/release",
      secretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:mysite",
    }],
    artifactsBucket: "artifacts",
    taskWorker: "celery",
    tls: role === "app" ? { mode: "load-balancer", trustedCidrs: ["10.0.0.0/16"] } : { mode: "none" },
    gunicorn: { timeoutSeconds: 30, gracefulTimeoutSeconds: 30, maxRequests: 1000, maxRequestsJitter: 100 },
    nginx: { proxyReadTimeoutSeconds: 60, keepaliveTimeoutSeconds: 75, maxUploadMb: 10 },
    backup: { hourUtc: 3, prefix: "backups/", localRetentionDays: 3 },
    longestTaskSeconds: 600,
    database: { engine: "postgres", host: "db.abcdefgh1234.us-east-1.rds.amazonaws.com", port: 5432, user: "mysite" },
    cache: { host: "master.cache.abcdef.use1.cache.amazonaws.com", port: 6379 },
    objectStorage: { staticBucket: "mysite-static", mediaBucket: "mysite-media" },
    ...(role === "app" ? { color: "blue" as const } : { queues: ["celery"], beat: false }),
    ...over,
  };
}
